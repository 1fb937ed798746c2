// The README cannot drift: every ```cpp block in README.md is, verbatim, the text between
// "// readme:begin NAME" and "// readme:end" markers in the files of this folder (regions with
// one NAME are joined in file order: a block may span namespace scope and a function body).
// The files around the regions compile each block, and run it where it can run in a test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

std::vector<std::string> readme_cpp_blocks() {
  std::vector<std::string> blocks;
  std::string block;
  bool in = false;
  for (const std::string& line : lines_of(std::string(BRIGADE_SOURCE_DIR) + "/README.md")) {
    if (!in && line == "```cpp") {
      in = true;
      block.clear();
    } else if (in && line.rfind("```", 0) == 0) {
      in = false;
      blocks.push_back(block);
    } else if (in) {
      block += line + "\n";
    }
  }
  return blocks;
}

// NAME -> the joined text of its regions, over this folder's files in name order.
std::map<std::string, std::string> regions() {
  std::vector<std::filesystem::path> files;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(BRIGADE_SOURCE_DIR) + "/tests/readme"))
    if (e.path().extension() == ".cpp") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> out;
  const std::string begin = "// readme:begin ", end = "// readme:end";
  for (const auto& file : files) {
    std::string name;
    bool in = false;
    for (const std::string& line : lines_of(file)) {
      if (!in && line.rfind(begin, 0) == 0) {
        in = true;
        name = line.substr(begin.size());
        out[name];  // a region may be empty
      } else if (in && line == end) {
        in = false;
      } else if (in) {
        out[name] += line + "\n";
      }
    }
    EXPECT_FALSE(in) << file << ": a region is not closed";
  }
  return out;
}

TEST(Readme, EveryCppBlockIsCompiledHereVerbatim) {
  std::vector<std::string> blocks = readme_cpp_blocks();
  std::map<std::string, std::string> compiled = regions();
  ASSERT_GE(blocks.size(), 10u);
  std::map<std::string, int> used;
  for (const std::string& block : blocks) {
    auto it = std::find_if(compiled.begin(), compiled.end(),
                           [&](const auto& kv) { return kv.second == block; });
    if (it == compiled.end()) {
      ADD_FAILURE() << "README.md has a C++ block that tests/readme does not compile (copy it "
                       "between readme:begin/end markers, verbatim):\n"
                    << block;
      continue;
    }
    ++used[it->first];
  }
  for (const auto& [name, text] : compiled)
    EXPECT_EQ(used[name], 1) << "tests/readme region '" << name
                             << "' is not (or more than once) a README block:\n"
                             << text;
}

}  // namespace
