/* Ctrl-C during `evoopt data`: the first SIGINT or SIGTERM asks the
 * running download or checksum to stop (they poll data_stop_requested()),
 * the second quits at once. Its own file so that data.c, data_fetch.c and
 * data_hash.c all call down into it and none calls back up. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "data_internal.h"

static volatile sig_atomic_t data_stop = 0;

static void on_data_signal(int sig) {
  if (data_stop) { /* the second one: quit at once */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  data_stop = 1;
  static const char msg[] =
      "\nevoopt: stopping; nothing of the unfinished download is kept "
      "(Ctrl-C again to quit at once)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

void data_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_data_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int data_stop_requested(void) {
  return data_stop != 0;
}

