/* The population checkpoint's framing (io_internal.h): magic, versions
 * and limits shared by the encoder (checkpoint.c) and the decoder
 * (resume.c). The payload is described at the top of checkpoint.c. */
#ifndef EVO_CHECKPOINT_INTERNAL_H
#define EVO_CHECKPOINT_INTERNAL_H

static const char CKPT_MAGIC[8] = {'E', 'V', 'O', 'O', 'P', 'T', 'C', 'K'};
#define CKPT_VERSION 5u
#define CKPT_VERSION_V4 4u  /* still read */
#define CKPT_VERSION_V3 3u  /* still read */
#define CKPT_VERSION_OLD 2u /* still read */
/* What versions 2 to 4 held: their settings and history values. */
#define V2_SETTINGS 9
#define V3_SETTINGS 13
#define V4_SETTINGS 14
#define V2_HIST_VALUES 6
#define CKPT_WHAT "population checkpoint"
#define CKPT_LIMIT ((size_t)1 << 30)

#endif
