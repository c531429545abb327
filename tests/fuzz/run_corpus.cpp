// The corpus runner: a main() for the fuzz targets when they are built
// without libFuzzer (the normal and sanitizer builds), so that every file
// of the checked-in corpus (seeds and regressions) runs in `meson test`.
//   run_corpus FILE|DIR...
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
extern "C" int LLVMFuzzerInitialize (int *argc, char ***argv)
    __attribute__ ((weak));

static void
list (const std::string &path, std::vector<std::string> *out)
{
  struct stat st;
  if (stat (path.c_str (), &st) != 0) {
    std::fprintf (stderr, "cannot read %s\n", path.c_str ());
    std::exit (2);
  }
  if (!S_ISDIR (st.st_mode)) {
    out->push_back (path);
    return;
  }
  DIR *d = opendir (path.c_str ());
  std::vector<std::string> names;
  while (struct dirent *e = readdir (d))
    if (e->d_name[0] != '.')
      names.push_back (e->d_name);
  closedir (d);
  std::sort (names.begin (), names.end ());
  for (const std::string &n : names)
    list (path + "/" + n, out);
}

int
main (int argc, char **argv)
{
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize (&argc, &argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++)
    list (argv[i], &files);
  if (files.empty ()) {
    std::fprintf (stderr, "no corpus files given\n");
    return 2;
  }
  for (const std::string &f : files) {
    std::ifstream in (f, std::ios::binary);
    std::vector<uint8_t> data ((std::istreambuf_iterator<char> (in)),
        std::istreambuf_iterator<char> ());
    std::fprintf (stderr, "running %s (%zu bytes)\n", f.c_str (), data.size ());
    LLVMFuzzerTestOneInput (data.data (), data.size ());
  }
  std::printf ("%zu inputs ran without a finding\n", files.size ());
  return 0;
}
