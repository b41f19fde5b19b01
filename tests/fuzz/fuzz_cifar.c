/* Fuzz target: the CIFAR-10 binary batch reader (data/cifar.c), through
 * evo_dataset_load("cifar10", folder).
 * Input: one flags byte (fuzz_load_set: bit 0 gzip, bit 1 .gz names), then
 * the test batch and up to five training batches separated by FUZZ_SEP. */
#include "fuzz_common.h"
#include "fuzz_data_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {
      "test_batch.bin",   "data_batch_1.bin", "data_batch_2.bin",
      "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
  if (size < 1)
    return 0;
  fuzz_load_set("cifar10", names, 6, data[0], data + 1, size - 1);
  return 0;
}
