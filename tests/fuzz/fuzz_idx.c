/* Fuzz target: the IDX reader of MNIST and Fashion-MNIST (data/idx.c),
 * through evo_dataset_load("mnist", folder).
 * Input: one flags byte (fuzz_load_set: bit 0 gzip, bit 1 .gz names), then
 * the four files (training images, training labels, test images, test
 * labels) separated by FUZZ_SEP. */
#include "fuzz_common.h"
#include "fuzz_data_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {
      "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  if (size < 1)
    return 0;
  fuzz_load_set("mnist", names, 4, data[0], data + 1, size - 1);
  return 0;
}
