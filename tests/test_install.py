"""The right plugin, reliably: plugin metadata and element aliases, the
README's snippets where gst-plugins-bad wins, static linking through
pkg-config, and the system-wide installation route (scripts/
system-install.sh) in a private mount namespace, so the machine's real
plugin directory and dpkg database are never touched."""
import os
import re
import shlex
import subprocess
import tempfile
import textwrap
import unittest

from aestest import (NIST_KEYS, TempDirTestCase, bad_wins_env, ctr_reference,
                     element_filename, random_data, split_ctr_stream)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(HERE)
BUILD_ROOT = os.environ["AESSTREAM_BUILD_ROOT"]
CC = shlex.split(os.environ.get("AESSTREAM_CC", "cc"))
KEY = NIST_KEYS[256]


def readme_snippet(lang):
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- snippet:%s .*?-->\s*```%s\n(.*?)```" % (lang, lang), text, re.S)
    assert m, f"README has no {lang} snippet marker"
    return m.group(1)


def pkg_config(*args, env=None):
    return shlex.split(subprocess.run(["pkg-config"] + list(args), env=env,
                                      capture_output=True, text=True, check=True).stdout)


class PluginRegistration(TempDirTestCase):
    def test_gst_inspect_shows_the_plugin_with_real_metadata(self):
        out = subprocess.run(["gst-inspect-1.0", "aesstream"], capture_output=True,
                             text=True, timeout=120).stdout
        self.assertIn("Plugin Details", out)
        self.assertRegex(out, r"Name\s+aesstream\n")
        self.assertRegex(out, r"Binary package\s+gst-aesstream")
        self.assertNotIn("example.invalid", out)
        for feature in ("aesenc", "aesdec", "aesstreamenc", "aesstreamdec",
                        "application/x-aes-encrypted"):
            self.assertRegex(out, r"\n\s+%s: " % re.escape(feature))

    def test_property_blurbs_list_every_mode_and_which_use_iv(self):
        out = subprocess.run(["gst-inspect-1.0", "aesdec"], capture_output=True,
                             text=True, timeout=120).stdout
        mode = out[out.index("  mode "):]
        mode = mode[:mode.index("\n  ", 10)]
        for m in ("ctr", "gcm-file", "gcm", "cbc", "ecb"):
            self.assertIn(m + " (", mode)
        iv = out[out.index("  iv "):]
        iv = iv[:iv.index("\n  ", 10)]
        self.assertIn("used by ctr and cbc only", iv)
        self.assertIn("request-key", out)

    def test_aliases_are_ours_even_where_gst_plugins_bad_wins(self):
        env = bad_wins_env(self.tmp)
        self.assertTrue(element_filename(env, "aesenc").endswith("/libgstaes.so"))
        for name in ("aesstreamenc", "aesstreamdec"):
            self.assertTrue(element_filename(env, name).endswith("/libgstaesstream.so"), name)
        # And they work: aesstreamenc ! aesstreamdec round trip, checked
        # against pycryptodome.
        data = random_data(10_000, 5)
        src, enc, dec = self.write("in", data), self.path("enc"), self.path("dec")
        iv = "000102030405060708090a0b0c0d0e0f"
        for pipeline in (f"filesrc location={src} ! aesstreamenc mode=ctr key={KEY} iv={iv} "
                         f"! filesink location={enc}",
                         f"filesrc location={enc} ! aesstreamdec mode=ctr key={KEY} iv={iv} "
                         f"! filesink location={dec}"):
            r = subprocess.run(["gst-launch-1.0", "-q"] + shlex.split(pipeline), env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.read("enc"), ctr_reference(KEY, iv, data))
        self.assertEqual(self.read("dec"), data)


class ReadmeSnippets(TempDirTestCase):
    """The README's C and Python snippets, run as a user would: they work
    where our aesenc wins and stop with a clear message (writing nothing)
    where gst-plugins-bad's does."""

    def setUp(self):
        super().setUp()
        self.data = random_data(50_000, 9)
        self.write("video.mkv", self.data)
        self.write("my.key", (KEY + "\n").encode())

    def compile_c(self):
        src = self.write("snippet.c", readme_snippet("c").encode())
        exe = self.path("snippet")
        subprocess.run(CC + [src, "-o", exe] + pkg_config("--cflags", "--libs", "gstreamer-1.0"),
                       check=True, capture_output=True, timeout=120)
        return [exe]

    def run_in_tmp(self, cmd, env=None):
        return subprocess.run(cmd, cwd=self.tmp, env=env, capture_output=True, text=True,
                              timeout=120)

    def test_c_snippet_encrypts_where_ours_wins(self):
        r = self.run_in_tmp(self.compile_c())
        self.assertEqual(r.returncode, 0, r.stderr)
        ct = self.read("video.mkv.aes")
        self.assertEqual(ct[:4], b"AESs")
        self.assertEqual(ctr_reference(KEY, *split_ctr_stream(ct)), self.data)

    def test_c_snippet_stops_where_gst_plugins_bad_wins(self):
        env = bad_wins_env(self.tmp)
        self.assertTrue(element_filename(env, "aesenc").endswith("/libgstaes.so"))
        r = self.run_in_tmp(self.compile_c(), env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("aesenc here is from plugin 'aes', not aesstream", r.stderr)
        self.assertFalse(os.path.exists(self.path("video.mkv.aes")))

    def test_python_snippet(self):
        snippet = self.write("snippet.py", readme_snippet("python").encode())
        r = self.run_in_tmp(["/usr/bin/python3", snippet])
        self.assertEqual(r.returncode, 0, r.stderr)
        env = bad_wins_env(self.tmp)
        r = self.run_in_tmp(["/usr/bin/python3", snippet], env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("aesenc here is from plugin 'aes', not aesstream", r.stderr)


class StaticLinking(TempDirTestCase):
    def test_c_program_links_the_installed_static_library_with_pkg_config_only(self):
        prefix, build = self.path("prefix"), self.path("build")
        # A build of its own: static library, no tests, installed into a
        # temporary prefix.
        subprocess.run(["meson", "setup", build, SOURCE_ROOT, "-Ddefault_library=static",
                        "-Dtests=disabled", "-Dbuildtype=plain", "--prefix=" + prefix,
                        "-Dplugindir=" + os.path.join(prefix, "lib", "gstreamer-1.0")],
                       check=True, capture_output=True, timeout=300)
        subprocess.run(["ninja", "-C", build], check=True, capture_output=True, timeout=900)
        subprocess.run(["meson", "install", "-C", build, "--no-rebuild"], check=True,
                       capture_output=True, timeout=300)
        pcdirs = [os.path.join(root) for root, _, files in os.walk(prefix)
                  if "gstaesstream-1.0.pc" in files]
        self.assertEqual(len(pcdirs), 1, pcdirs)
        env = dict(os.environ, PKG_CONFIG_PATH=pcdirs[0])
        env.pop("LD_PRELOAD", None)
        prog = self.write("prog.c", textwrap.dedent("""\
            #include <gst/aesstream/aesstream.h>
            #include <string.h>

            int
            main (int argc, char **argv)
            {
              gst_init (&argc, &argv);
              gst_plugin_aesstream_register ();
              GstPlugin *p = gst_registry_find_plugin (gst_registry_get (), "aesstream");
              if (p == NULL || gst_plugin_get_filename (p) != NULL)
                return 3; /* must be registered statically */
              gst_object_unref (p);
              GError *err = NULL;
              GstElement *pl = gst_parse_launch (argv[1], &err);
              if (pl == NULL)
                return 4;
              gst_element_set_state (pl, GST_STATE_PLAYING);
              GstBus *bus = gst_element_get_bus (pl);
              GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
                  GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
              int rc = m == NULL || GST_MESSAGE_TYPE (m) != GST_MESSAGE_EOS;
              if (m)
                gst_message_unref (m);
              gst_object_unref (bus);
              gst_element_set_state (pl, GST_STATE_NULL);
              gst_object_unref (pl);
              return rc;
            }
            """).encode())
        exe = self.path("prog")
        flags = pkg_config("--cflags", "--libs", "gstaesstream-1.0", env=env)
        r = subprocess.run(CC + [prog, "-o", exe] + flags, env=env, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        data = random_data(4096, 11)
        src, out = self.write("in", data), self.path("out")
        iv = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
        # Only the system's own plugins on the path (for filesrc/filesink):
        # our elements can come from nowhere but the static registration.
        run_env = dict(env, GST_REGISTRY_1_0=self.path("reg.bin"),
                       GST_PLUGIN_SYSTEM_PATH_1_0=pkg_config(
                           "--variable=pluginsdir", "gstreamer-1.0")[0])
        r = subprocess.run([exe, f"filesrc location={src} ! aesstreamenc mode=ctr key={KEY} "
                            f"iv={iv} ! filesink location={out}"], env=run_env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read("out"), ctr_reference(KEY, iv, data))


NAMESPACE_SCRIPT = r"""
set -euo pipefail
t=$1 build=$2 script=$3
sysdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
# Private copies (overlays) of everything the route writes to; a failure
# here stops before the route runs.
for d in /var/lib/dpkg "$sysdir" /usr/local; do
  n=$(echo "$d" | tr / _)
  mkdir -p "$t/$n.u" "$t/$n.w"
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$t/$n.u,workdir=$t/$n.w" "$d"
done
mkdir -p /root/.cache
mount -t tmpfs tmpfs /root/.cache
mount -t tmpfs tmpfs /home
export HOME=/root
unset GST_PLUGIN_SYSTEM_PATH_1_0 GST_PLUGIN_SYSTEM_PATH GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_REGISTRY_1_0
aesenc() { gst-inspect-1.0 aesenc 2>/dev/null | sed -n 's/^ *Filename *//p'; }

echo "before: $(aesenc)"
# A second user whose registry cache predates the installation.
mkdir -p /home/u/.cache/gstreamer-1.0
GST_REGISTRY_1_0=$t/user-registry.bin gst-inspect-1.0 aesenc >/dev/null
"$script" install "$build"
echo "cached: $(aesenc)"
echo "old-user-cache: $(GST_REGISTRY_1_0=$t/user-registry.bin gst-inspect-1.0 aesenc | sed -n 's/^ *Filename *//p')"
rm -f /root/.cache/gstreamer-1.0/registry.*.bin
echo "rebuilt: $(aesenc)"
# An upgrade of gstreamer1.0-plugins-bad: dpkg writes the new file to the
# diverted name (dpkg-divert --truename says where).
truename=$(dpkg-divert --truename "$sysdir/libgstaes.so")
echo "truename: $truename"
cp "$t/libgstaes.so.new" "$truename"
echo "after-bad-upgrade: $(aesenc)"
rm -f /root/.cache/gstreamer-1.0/registry.*.bin
echo "after-bad-upgrade-rebuilt: $(aesenc)"
touch "$sysdir/libgstaesstream.so"
echo "after-our-upgrade: $(aesenc)"
GST_REGISTRY_1_0=$t/user-registry.bin gst-inspect-1.0 aesenc >/dev/null
"$script" undo "$build"
echo "undone: $(aesenc)"
echo "undone-old-user-cache: $(GST_REGISTRY_1_0=$t/user-registry.bin gst-inspect-1.0 aesenc | sed -n 's/^ *Filename *//p')"
echo "diversions: $(dpkg-divert --list "$sysdir/libgstaes.so" | wc -l)"
ls "$sysdir" | grep -c aesstream || true
"""


class SystemInstallRoute(TempDirTestCase):
    def test_aesenc_is_ours_after_install_rebuild_and_upgrades_and_undo_restores(self):
        sysdir = pkg_config("--variable=pluginsdir", "gstreamer-1.0")[0]
        if not os.path.exists(os.path.join(sysdir, "libgstaes.so")):
            self.skipTest("gst-plugins-bad's aes plugin is not installed")
        if os.geteuid() != 0 or subprocess.run(
                ["unshare", "--mount", "true"], capture_output=True).returncode != 0:
            self.skipTest("needs root and mount namespaces to run the route in isolation")
        # The "upgraded" gst-plugins-bad plugin: the same file, new mtime.
        subprocess.run(["cp", os.path.join(sysdir, "libgstaes.so"),
                        self.path("libgstaes.so.new")], check=True)
        script = os.path.join(SOURCE_ROOT, "scripts", "system-install.sh")
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                            NAMESPACE_SCRIPT, "ns", self.tmp, BUILD_ROOT, script],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # GStreamer may name the directory through the /lib symlink.
        got = {}
        for line in r.stdout.splitlines():
            if ": " in line:
                k, v = line.split(": ", 1)
                # The first "aesenc is now" is install's, the second undo's.
                k = k + " (undo)" if k in got else k
                got[k] = os.path.realpath(v) if v.startswith("/") else v
        sysdir = os.path.realpath(sysdir)
        ours, theirs = sysdir + "/libgstaesstream.so", sysdir + "/libgstaes.so"
        self.assertEqual(got["before"], theirs)
        for when in ("aesenc is now", "cached", "old-user-cache", "rebuilt",
                     "after-bad-upgrade", "after-bad-upgrade-rebuilt", "after-our-upgrade"):
            self.assertEqual(got[when], ours, when)
        self.assertEqual(got["truename"], theirs + ".aesstream-diverted")
        self.assertEqual(got["undone"], theirs)
        self.assertEqual(got["aesenc is now (undo)"], theirs)
        self.assertEqual(got["undone-old-user-cache"], theirs)
        self.assertEqual(got["diversions"], "0")
        self.assertEqual(r.stdout.strip().splitlines()[-1], "0")  # no file of ours left
        # Nothing changed outside the namespace.
        self.assertFalse(os.path.exists(ours))
        self.assertTrue(os.path.exists(theirs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
