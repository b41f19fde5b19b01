/* Debian's tiny-dnn includes "third_party/stb/stb_image_resize.h" from its own source
 * tree, which the package does not ship; Debian's libstb-dev has the header. */
#include <stb/stb_image_resize.h>
