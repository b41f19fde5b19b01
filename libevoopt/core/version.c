/* Runtime version numbers (ABI: compare with EVO_VERSION_NUMBER). */
#include "core/common_internal.h"

EVO_API unsigned evo_version_number(void) { return EVO_VERSION_NUMBER; }

EVO_API const char *evo_version_string(void) { return EVO_VERSION_STRING; }
