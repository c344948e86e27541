"""Edits several rules share. Comments on removed lines are kept, moved to the next line."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from rewrites.rule import Edit, Rule


def _comment_lines(leading: Sequence[cst.EmptyLine], trailing: cst.TrailingWhitespace) -> list[cst.EmptyLine]:
    lines = [line for line in leading if line.comment is not None or line.indent]
    if trailing.comment is not None:
        lines.append(cst.EmptyLine(comment=trailing.comment))
    return [line for line in lines if line.comment is not None]


def remove_decorator(rule: Rule, decorator: cst.Decorator, reference: cst.CSTNode) -> Edit:
    """Drop ``decorator`` from the function or class it decorates."""
    owner = next(n for n in rule.ctx.ancestors() if isinstance(n, (cst.FunctionDef, cst.ClassDef)))
    carried = _comment_lines(decorator.leading_lines, decorator.trailing_whitespace)
    if not carried:
        return rule.edit({decorator: cst.RemovalSentinel.REMOVE}, dropped=[reference])
    decorators = list(owner.decorators)
    index = decorators.index(decorator)
    del decorators[index]
    if index < len(decorators):
        decorators[index] = decorators[index].with_changes(leading_lines=[*carried, *decorators[index].leading_lines])
        replacement = owner.with_changes(decorators=decorators)
    else:
        replacement = owner.with_changes(
            decorators=decorators, lines_after_decorators=[*carried, *owner.lines_after_decorators]
        )
    return rule.edit({owner: replacement}, dropped=[reference])


def remove_statement(rule: Rule, line: cst.SimpleStatementLine, dropped: Sequence[cst.CSTNode] = ()) -> Edit:
    """Delete a one-statement line; its comments move to the line that follows."""
    carried = _comment_lines(line.leading_lines, line.trailing_whitespace)
    if not carried:
        return rule.edit({line: cst.RemovalSentinel.REMOVE}, dropped=dropped)
    block = next(n for n in rule.ctx.ancestors() if isinstance(n, (cst.IndentedBlock, cst.Module)))
    body = list(block.body)
    index = body.index(line)
    del body[index]
    if index < len(body):
        following = body[index]
        body[index] = following.with_changes(leading_lines=[*carried, *following.leading_lines])
        replacement = block.with_changes(body=body)
    elif body:
        replacement = block.with_changes(body=body, footer=[*carried, *block.footer])
    else:  # the only statement: keep the block valid
        replacement = block.with_changes(body=[cst.SimpleStatementLine([cst.Pass()], leading_lines=carried)])
    return rule.edit({block: replacement}, dropped=dropped)


def statement_line(rule: Rule, statement: cst.BaseSmallStatement) -> cst.SimpleStatementLine | None:
    """The line holding ``statement`` when it is the line's only statement."""
    for node in rule.ctx.ancestors():
        if isinstance(node, cst.SimpleStatementLine):
            return node if len(node.body) == 1 and node.body[0] is statement else None
    return None
