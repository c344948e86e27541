"""Edits several rules share. Comments on removed lines are kept, moved to the next line."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from rewrites.python_checker import Edit, PythonRule


def _comment_lines(leading: Sequence[cst.EmptyLine], trailing: cst.TrailingWhitespace) -> list[cst.EmptyLine]:
    lines = [line for line in leading if line.comment is not None or line.indent]
    if trailing.comment is not None:
        lines.append(cst.EmptyLine(comment=trailing.comment))
    return [line for line in lines if line.comment is not None]


def remove_decorator(rule: PythonRule, decorator: cst.Decorator, reference: cst.CSTNode) -> Edit:
    """Drop ``decorator`` from the function or class it decorates."""
    owner = next(n for n in rule.ctx.ancestors() if isinstance(n, (cst.FunctionDef, cst.ClassDef)))
    carried = _comment_lines(decorator.leading_lines, decorator.trailing_whitespace)
    if not carried:
        return rule.edit({decorator: cst.RemovalSentinel.REMOVE}, dropped=[reference])
    decorators = list(owner.decorators)
    index = decorators.index(decorator)
    del decorators[index]
    if index < len(decorators):
        decorators[index] = decorators[index].with_changes(
            leading_lines=[*carried, *decorators[index].leading_lines]
        )
        replacement = owner.with_changes(decorators=decorators)
    else:
        replacement = owner.with_changes(
            decorators=decorators, lines_after_decorators=[*carried, *owner.lines_after_decorators]
        )
    return rule.edit({owner: replacement}, dropped=[reference])


def remove_statement(
    rule: PythonRule, line: cst.SimpleStatementLine, dropped: Sequence[cst.CSTNode] = ()
) -> Edit:
    """Delete a one-statement line; its comments move to the line that follows."""
    carried = _comment_lines(line.leading_lines, line.trailing_whitespace)
    if not carried:
        return rule.edit({line: cst.RemovalSentinel.REMOVE}, dropped=dropped)
    block = next(n for n in rule.ctx.ancestors() if isinstance(n, (cst.IndentedBlock, cst.Module)))
    body = list(block.body)
    index = body.index(line)
    del body[index]
    following = body[index] if index < len(body) else None
    if isinstance(following, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        body[index] = following.with_changes(leading_lines=[*carried, *following.leading_lines])
        replacement = block.with_changes(body=body)
    elif body:
        replacement = block.with_changes(body=body, footer=[*carried, *block.footer])
    else:  # the only statement: keep the block valid
        replacement = block.with_changes(body=[cst.SimpleStatementLine([cst.Pass()], leading_lines=carried)])
    return rule.edit({block: replacement}, dropped=dropped)


def statement_line(rule: PythonRule, statement: cst.BaseSmallStatement) -> cst.SimpleStatementLine | None:
    """The line holding ``statement`` when it is the line's only statement."""
    for node in rule.ctx.ancestors():
        if isinstance(node, cst.SimpleStatementLine):
            return node if len(node.body) == 1 and node.body[0] is statement else None
    return None


def dotted_expression(name: str) -> cst.Attribute | cst.Name:
    """``a.b.c`` as an expression node."""
    expression = cst.parse_expression(name)
    assert isinstance(expression, (cst.Attribute, cst.Name))
    return expression


def move_imported_name(
    rule: PythonRule, statement: cst.ImportFrom, name: str, new_module: str, new_name: str | None = None
) -> Edit | None:
    """Take ``name`` out of ``from M import ..., name, ...`` and import it from ``new_module``.

    None when the name is imported under another name (``as``), which this does not rewrite.
    """
    if isinstance(statement.names, cst.ImportStar):
        return None
    aliases = list(statement.names)
    match = [a for a in aliases if isinstance(a.name, cst.Name) and a.name.value == name]
    if not match or match[0].asname is not None:
        return None
    aliases.remove(match[0])
    if aliases:
        if statement.rpar is None:
            aliases[-1] = aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        replacement: cst.ImportFrom | cst.RemovalSentinel = statement.with_changes(names=aliases)
    else:
        replacement = cst.RemovalSentinel.REMOVE
    return rule.edit({statement: replacement}, add_imports=[(new_module, new_name or name)])


def unwrap_to_value(
    rule: PythonRule,
    call: cst.Call,
    reference: cst.CSTNode,
    value: cst.BaseExpression,
    annotation: cst.BaseExpression | None,
) -> Edit:
    """``x = wrapper(..., value)`` becomes ``x: annotation = value`` (or just ``value``)."""
    parent = rule.ctx.parent()
    for node in rule.ctx.ancestors():
        if node is not call and not isinstance(node, cst.Call):
            parent = node
            break
    if (
        annotation is not None
        and isinstance(parent, cst.Assign)
        and parent.value is call
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, (cst.Name, cst.Attribute))
    ):
        typed = cst.AnnAssign(
            target=parent.targets[0].target, annotation=cst.Annotation(annotation), value=value
        )
        return rule.edit({parent: typed}, dropped=[reference])
    return rule.edit({call: value}, dropped=[reference])


def typed_value_edit(rule: PythonRule, call: cst.Call, reference: cst.CSTNode, value_at: int) -> Edit | None:
    """The fix of a call that pairs a value with its type (``annotate(T, value)``,
    ``Attribute(value, T)``): :func:`unwrap_to_value`, when the call passes exactly two positional
    arguments, the value at ``value_at`` and the type at the other; None otherwise."""
    args = [a for a in call.args if a.keyword is None and not a.star]
    if not len(args) == 2 == len(call.args):
        return None
    return unwrap_to_value(rule, call, reference, args[value_at].value, args[1 - value_at].value)


def keep_branch(rule: PythonRule, statement: cst.If, condition: bool, reference: cst.CSTNode) -> Edit:
    """Replace ``if`` by the branch that runs when its test is the constant ``condition``."""
    if condition:
        statements = _statements(statement.body)
    elif isinstance(statement.orelse, cst.If):  # `elif` becomes `if`
        statements = [statement.orelse]
    elif isinstance(statement.orelse, cst.Else):
        statements = _statements(statement.orelse.body)
    else:
        statements = []
    if statements:
        first = statements[0]
        if isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            statements[0] = first.with_changes(leading_lines=[*statement.leading_lines, *first.leading_lines])
        return rule.edit({statement: cst.FlattenSentinel(statements)}, dropped=[reference])
    block = next(n for n in rule.ctx.ancestors() if isinstance(n, (cst.IndentedBlock, cst.Module)))
    if len(block.body) == 1:  # the block would be empty
        return rule.edit({statement: cst.SimpleStatementLine([cst.Pass()])}, dropped=[reference])
    return rule.edit({statement: cst.RemovalSentinel.REMOVE}, dropped=[reference])


def _statements(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=suite.body)]


def use_typing_name(rule: PythonRule, reference: cst.BaseExpression, typing_name: str) -> Edit | None:
    """Make ``reference`` (a TorchScript spelling of a typing construct) name ``typing_name``.

    ``torch.jit.Final`` becomes ``Final`` with ``from typing import Final``; a name imported
    under the same name (``from torch.jit import Final``) has its import moved to typing.
    None where the local name is taken by something else.
    """
    bound = rule.ctx.imports.is_bound(typing_name)
    if isinstance(reference, cst.Name):
        origin = rule.ctx.imports.origin(reference)
        if origin is None or not isinstance(origin.statement, cst.ImportFrom):
            return None
        if reference.value == typing_name:
            return move_imported_name(rule, origin.statement, typing_name, "typing")
    if bound and rule.ctx.resolve(cst.Name(typing_name)) != f"typing.{typing_name}":
        return None
    return rule.edit(
        {reference: cst.Name(typing_name)}, add_imports=[("typing", typing_name)], dropped=[reference]
    )
