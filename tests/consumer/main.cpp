#include <iostream>
#include <lat/encoder.hpp>
#include <lat/error.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer MODEL_DIR\n";
    return 2;
  }
  try {
    const lat::Encoder encoder(argv[1]);
    const std::vector<std::string> texts{"the cat sat on the mat", "a dog"};
    for (const auto& r : encoder.classify(texts)) {
      std::cout << r.label_name << " " << r.run.tokens << "\n";
    }
  } catch (const lat::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
