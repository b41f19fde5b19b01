/* placeholder: being written */
#include "common_internal.h"
