// The harness's worker protocol (validators/worker.py) in C++, for runners with no Python.
//
// Commands arrive as JSON lines on stdin, replies leave as JSON lines on a private copy of
// stdout (the process's own stdout goes to stderr, so what a runtime prints cannot corrupt the
// protocol). Inputs and outputs are the harness's .npz files (np.savez: a zip of .npy, stored).
// The runner only runs: the harness decides warm-up and run counts; "time" returns the
// per-run seconds of the runtime's own call, "memory" the process's VmHWM.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace native {

struct Array {
  std::string dtype;  // numpy's name: float32, int64, bool, ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // C order, little-endian
};

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::vector<Spec> load(const std::string& artifact, int threads, const std::string& method,
                                 const std::string& layout) = 0;
  // Convert the inputs to the runtime's own types, once; call() then sets them and runs.
  virtual void prepare(const std::vector<Array>& inputs) = 0;
  virtual void call() = 0;
  virtual std::vector<Array> outputs() = 0;  // of the last call
};

inline int64_t count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

inline size_t itemsize(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"float32", 4}, {"float64", 8}, {"float16", 2}, {"int64", 8}, {"int32", 4},
      {"int16", 2},   {"int8", 1},    {"uint8", 1},   {"bool", 1}};
  auto found = sizes.find(dtype);
  if (found == sizes.end()) throw std::runtime_error("unsupported dtype " + dtype);
  return found->second;
}

// ---- .npy / .npz ---------------------------------------------------------------------------

inline std::string descr_of(const std::string& dtype) {
  static const std::map<std::string, std::string> descrs = {
      {"float32", "<f4"}, {"float64", "<f8"}, {"float16", "<f2"}, {"int64", "<i8"}, {"int32", "<i4"},
      {"int16", "<i2"},   {"int8", "|i1"},    {"uint8", "|u1"},   {"bool", "|b1"}};
  auto found = descrs.find(dtype);
  if (found == descrs.end()) throw std::runtime_error("unsupported dtype " + dtype);
  return found->second;
}

inline std::string dtype_of(std::string descr) {
  if (!descr.empty() && (descr[0] == '=' || descr[0] == '|')) descr[0] = '<';
  static const std::map<std::string, std::string> names = {
      {"<f4", "float32"}, {"<f8", "float64"}, {"<f2", "float16"}, {"<i8", "int64"}, {"<i4", "int32"},
      {"<i2", "int16"},   {"<i1", "int8"},    {"<u1", "uint8"},   {"<b1", "bool"}};
  auto found = names.find(descr);
  if (found == names.end()) throw std::runtime_error("unsupported array type " + descr);
  return found->second;
}

inline Array parse_npy(const uint8_t* data, size_t size) {
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0) throw std::runtime_error("not a .npy array");
  size_t header_length = 0, start = 0;
  if (data[6] == 1) {
    header_length = data[8] | (data[9] << 8);
    start = 10;
  } else {
    if (size < 12) throw std::runtime_error("truncated .npy header");
    header_length = data[8] | (data[9] << 8) | (data[10] << 16) | (size_t(data[11]) << 24);
    start = 12;
  }
  if (start + header_length > size) throw std::runtime_error("truncated .npy header");
  std::string header(reinterpret_cast<const char*>(data + start), header_length);
  auto value_of = [&](const std::string& key) {
    size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) throw std::runtime_error(".npy header has no " + key);
    at = header.find(':', at) + 1;
    while (header[at] == ' ') at++;
    return at;
  };
  size_t at = value_of("descr");
  size_t end = header.find('\'', at + 1);
  Array array;
  array.dtype = dtype_of(header.substr(at + 1, end - at - 1));
  if (header.compare(value_of("fortran_order"), 4, "True") == 0)
    throw std::runtime_error("a Fortran-ordered array");
  at = value_of("shape");
  end = header.find(')', at);
  std::stringstream dims(header.substr(at + 1, end - at - 1));
  std::string dim;
  while (std::getline(dims, dim, ','))
    if (dim.find_first_not_of(' ') != std::string::npos) array.shape.push_back(std::stoll(dim));
  size_t bytes = size_t(count(array.shape)) * itemsize(array.dtype);
  if (start + header_length + bytes > size) throw std::runtime_error("truncated .npy data");
  const uint8_t* body = data + start + header_length;
  array.data.assign(body, body + bytes);
  return array;
}

inline std::string npy_bytes(const Array& array) {
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); i++)
    shape += std::to_string(array.shape[i]) + (array.shape.size() == 1 ? "," : i + 1 < array.shape.size() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '" + descr_of(array.dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(array.data.data()), array.data.size());
  return out;
}

inline uint64_t little(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; i--) value = (value << 8) | p[i];
  return value;
}

// np.savez writes a zip of "0.npy", "1.npy", ... stored uncompressed (zip64 extras included).
inline std::vector<Array> read_npz(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::vector<uint8_t> zip((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (zip.size() < 22) throw std::runtime_error(path + ": not a .npz");
  size_t eocd = zip.size() - 22;
  while (eocd > 0 && little(&zip[eocd], 4) != 0x06054b50) eocd--;
  if (little(&zip[eocd], 4) != 0x06054b50) throw std::runtime_error(path + ": not a .npz");
  uint64_t entries = little(&zip[eocd + 10], 2), directory = little(&zip[eocd + 16], 4);
  if ((directory == 0xffffffff || entries == 0xffff) && eocd >= 20 && little(&zip[eocd - 20], 4) == 0x07064b50) {
    uint64_t record = little(&zip[eocd - 20 + 8], 8);
    entries = little(&zip[record + 32], 8);
    directory = little(&zip[record + 48], 8);
  }
  std::map<int, Array> arrays;
  size_t p = directory;
  for (uint64_t e = 0; e < entries; e++) {
    if (p + 46 > zip.size() || little(&zip[p], 4) != 0x02014b50) throw std::runtime_error(path + ": bad zip directory");
    uint64_t method = little(&zip[p + 10], 2), compressed = little(&zip[p + 20], 4), plain = little(&zip[p + 24], 4);
    uint64_t offset = little(&zip[p + 42], 4);
    size_t name_length = little(&zip[p + 28], 2), extra_length = little(&zip[p + 30], 2);
    size_t comment_length = little(&zip[p + 32], 2);
    std::string name(reinterpret_cast<const char*>(&zip[p + 46]), name_length);
    for (size_t x = p + 46 + name_length; x + 4 <= p + 46 + name_length + extra_length;) {
      uint64_t id = little(&zip[x], 2), length = little(&zip[x + 2], 2);
      if (id == 1) {
        size_t f = x + 4;
        if (plain == 0xffffffff) plain = little(&zip[f], 8), f += 8;
        if (compressed == 0xffffffff) compressed = little(&zip[f], 8), f += 8;
        if (offset == 0xffffffff) offset = little(&zip[f], 8);
      }
      x += 4 + length;
    }
    if (method != 0) throw std::runtime_error(path + ": compressed arrays (np.savez_compressed) are not read here");
    size_t start = offset + 30 + little(&zip[offset + 26], 2) + little(&zip[offset + 28], 2);
    if (start + compressed > zip.size()) throw std::runtime_error(path + ": truncated");
    std::string stem = name.substr(0, name.rfind('.'));  // "0" (the harness) or "arr_0"
    size_t digits = stem.find_last_not_of("0123456789") + 1;
    if (digits >= stem.size()) throw std::runtime_error(path + ": an array named " + name + ", not by its position");
    arrays[std::stoi(stem.substr(digits))] = parse_npy(&zip[start], compressed);
    p += 46 + name_length + extra_length + comment_length;
  }
  std::vector<Array> ordered;
  for (auto& [index, array] : arrays) ordered.push_back(std::move(array));
  return ordered;
}

inline uint32_t crc32(const std::string& bytes) {
  static uint32_t table[256] = {0};
  if (table[1] == 0)
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
  uint32_t c = 0xffffffff;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffff;
}

inline void put(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out += char((value >> (8 * i)) & 0xff);
}

inline void write_npz(const std::string& path, const std::vector<Array>& arrays) {
  std::string body, directory;
  for (size_t i = 0; i < arrays.size(); i++) {
    std::string name = std::to_string(i) + ".npy", data = npy_bytes(arrays[i]);
    uint32_t crc = crc32(data);
    size_t offset = body.size();
    for (int central = 0; central < 2; central++) {
      std::string& out = central ? directory : body;
      put(out, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) put(out, 20, 2);
      put(out, 20, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0x21, 2);
      put(out, crc, 4), put(out, data.size(), 4), put(out, data.size(), 4);
      put(out, name.size(), 2), put(out, 0, 2);
      if (central) put(out, 0, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 4), put(out, offset, 4);
      out += name;
    }
    body += data;
  }
  std::string end;
  put(end, 0x06054b50, 4), put(end, 0, 2), put(end, 0, 2), put(end, arrays.size(), 2);
  put(end, arrays.size(), 2), put(end, directory.size(), 4), put(end, body.size(), 4), put(end, 0, 2);
  std::ofstream file(path, std::ios::binary);
  file << body << directory << end;
  if (!file.flush()) throw std::runtime_error("cannot write " + path);
}

// ---- JSON lines ----------------------------------------------------------------------------

using Command = std::map<std::string, std::string>;  // string values unescaped, others raw

inline std::string parse_string(const std::string& s, size_t& i) {
  std::string out;
  for (i++; i < s.size() && s[i] != '"'; i++) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'n') out += '\n';
    else if (c == 't') out += '\t';
    else if (c == 'r') out += '\r';
    else if (c == 'b') out += '\b';
    else if (c == 'f') out += '\f';
    else if (c == 'u') {
      unsigned code = std::stoul(s.substr(i + 1, 4), nullptr, 16);
      i += 4;
      if (code >= 0xd800 && code < 0xdc00 && s.compare(i + 1, 2, "\\u") == 0) {
        code = 0x10000 + ((code - 0xd800) << 10) + (std::stoul(s.substr(i + 3, 4), nullptr, 16) - 0xdc00);
        i += 6;
      }
      if (code < 0x80) out += char(code);
      else if (code < 0x800) out += char(0xc0 | code >> 6), out += char(0x80 | (code & 0x3f));
      else if (code < 0x10000)
        out += char(0xe0 | code >> 12), out += char(0x80 | ((code >> 6) & 0x3f)), out += char(0x80 | (code & 0x3f));
      else
        out += char(0xf0 | code >> 18), out += char(0x80 | ((code >> 12) & 0x3f)),
            out += char(0x80 | ((code >> 6) & 0x3f)), out += char(0x80 | (code & 0x3f));
    } else out += c;
  }
  i++;
  return out;
}

inline Command parse_command(const std::string& line) {
  Command command;
  size_t i = line.find('{');
  if (i == std::string::npos) throw std::runtime_error("not a JSON object");
  i++;
  auto skip = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',' || line[i] == '\t')) i++;
  };
  for (skip(); i < line.size() && line[i] == '"'; skip()) {
    std::string key = parse_string(line, i);
    i = line.find(':', i) + 1;
    while (line[i] == ' ') i++;
    if (line[i] == '"') {
      command[key] = parse_string(line, i);
    } else {
      size_t start = i;
      int depth = 0;
      for (; i < line.size(); i++) {
        if (line[i] == '[' || line[i] == '{') depth++;
        else if (line[i] == ']' || line[i] == '}') {
          if (depth-- == 0) break;
        } else if (line[i] == ',' && depth == 0) break;
      }
      command[key] = line.substr(start, i - start);
    }
  }
  return command;
}

inline std::string quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += char(c);
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else out += char(c);
  }
  return out + "\"";
}

inline std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

inline int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline int serve(Runner& runner) {
  int replies_fd = dup(1);
  dup2(2, 1);
  FILE* replies = fdopen(replies_fd, "w");
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \r\n\t") == std::string::npos) continue;
    std::string reply;
    bool done = false;
    try {
      Command command = parse_command(line);
      const std::string op = command["op"];
      if (op == "import") {  // the runtime is linked in: nothing to import
      } else if (op == "load") {
        auto started = std::chrono::steady_clock::now();
        std::vector<Spec> specs = runner.load(command["artifact"], command.count("threads") ? std::stoi(command["threads"]) : 1,
                                              command.count("method") ? command["method"] : "forward",
                                              command.count("layout") ? command["layout"] : "nchw");
        reply = ", \"seconds\": " + number(seconds_since(started)) + ", \"specs\": [";
        for (size_t i = 0; i < specs.size(); i++) {
          reply += std::string(i ? ", " : "") + "{\"name\": " + quote(specs[i].name) + ", \"shape\": [";
          for (size_t d = 0; d < specs[i].shape.size(); d++)
            reply += (d ? ", " : "") + std::to_string(specs[i].shape[d]);
          reply += "], \"dtype\": " + quote(specs[i].dtype) + "}";
        }
        reply += "]";
      } else if (op == "run") {
        runner.prepare(read_npz(command["inputs"]));
        auto started = std::chrono::steady_clock::now();
        runner.call();
        double seconds = seconds_since(started);
        write_npz(command["outputs"], runner.outputs());
        reply = ", \"seconds\": " + number(seconds);
      } else if (op == "time") {
        runner.prepare(read_npz(command["inputs"]));
        int runs = std::stoi(command["runs"]);
        reply = ", \"times\": [";
        for (int r = 0; r < runs; r++) {
          auto started = std::chrono::steady_clock::now();
          runner.call();
          reply += (r ? ", " : "") + number(seconds_since(started));
        }
        reply += "]";
      } else if (op == "memory") {
        reply = ", \"bytes\": " + std::to_string(peak_rss_bytes());
      } else if (op == "exit") {
        done = true;
      } else {
        throw std::runtime_error("unknown command " + op);
      }
      reply = "{\"ok\": true" + reply + "}";
    } catch (const std::exception& error) {
      reply = "{\"ok\": false, \"error\": " + quote(error.what()) + "}";
    }
    std::fputs((reply + "\n").c_str(), replies);
    std::fflush(replies);
    if (done) break;
  }
  return 0;
}

}  // namespace native
