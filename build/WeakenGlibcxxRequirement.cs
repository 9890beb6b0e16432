// TorchSharp 0.107's libLibTorchSharp.so lists GLIBCXX_3.4.32 in its version needs, for one symbol
// (std::ios_base_library_init) that no relocation uses. On a libstdc++ that stops at 3.4.30 (Debian 12)
// the loader refuses the library and TorchSharp reports only "Failed to load native component".
// Marking that one requirement WEAK (VER_FLG_WEAK in vna_flags of its .gnu.version_r entry) lets the
// loader accept the library. This task does that to the copy in a build or publish output, never to the
// NuGet cache. In a build output it does nothing where the system's libstdc++ already provides the version;
// a publish output (Always) is weakened regardless, since it runs on whatever machine it is copied to
// (Ubuntu 22.04 GPU boxes stop at 3.4.30 too).
#nullable enable
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenGlibcxxRequirement : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Weaken whatever this machine's libstdc++ provides: the output runs elsewhere.</summary>
    public bool Always { get; set; }

    /// <summary>The libstdc++ to look in instead of the system's (tests).</summary>
    public string? SystemLibStdCpp { get; set; }

    public override bool Execute()
    {
        if (Libraries.Length == 0) return true;
        var stdcpp = string.IsNullOrEmpty(SystemLibStdCpp) ? FindSystemLibStdCpp() : SystemLibStdCpp;
        string reason;
        if (Always) reason = "a published build runs on other machines";
        else if (stdcpp == null)
        {
            Log.LogMessage(MessageImportance.Low, "libstdc++.so.6 not found in the usual places; libLibTorchSharp.so left as shipped.");
            return true;
        }
        else if (Contains(File.ReadAllBytes(stdcpp), Encoding.ASCII.GetBytes(Version + "\0")))
        {
            Log.LogMessage(MessageImportance.Low, $"{stdcpp} provides {Version}; libLibTorchSharp.so left as shipped.");
            return true;
        }
        else reason = $"{stdcpp} lacks it";
        foreach (var item in Libraries)
        {
            var path = item.ItemSpec;
            var bytes = File.ReadAllBytes(path);
            int changed = MarkWeak(bytes, Version, out var error);
            if (error != null) { Log.LogError($"{path}: {error}"); return false; }
            if (changed == 0) continue; // already weak, or not needed by this build of the library
            // Write beside it and rename over it: a hard link into the NuGet cache is replaced, not edited.
            var tmp = path + ".weak.tmp";
            File.WriteAllBytes(tmp, bytes);
            File.SetLastWriteTimeUtc(tmp, File.GetLastWriteTimeUtc(path));
            File.Delete(path);
            File.Move(tmp, path);
            Log.LogMessage(MessageImportance.High, $"{path}: marked {Version} weak ({reason}).");
        }
        return true;
    }

    static string? FindSystemLibStdCpp()
    {
        foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                                    "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" })
        {
            var p = Path.Combine(dir, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    static bool Contains(byte[] hay, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= hay.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    /// <summary>Sets VER_FLG_WEAK on every vernaux entry named <paramref name="name"/>; returns how many changed.</summary>
    public static int MarkWeak(byte[] elf, string name, out string? error)
    {
        error = null;
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        { error = "not an ELF file"; return 0; }
        if (elf[4] != 2 || elf[5] != 1) { error = "not a little-endian 64-bit ELF file"; return 0; }
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        int changed = 0;
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long off = BitConverter.ToInt64(elf, (int)sh + 24);
            int link = (int)BitConverter.ToUInt32(elf, (int)sh + 40), count = (int)BitConverter.ToUInt32(elf, (int)sh + 44);
            long strtab = BitConverter.ToInt64(elf, (int)(shoff + (long)link * shentsize) + 24);
            long vn = off;
            for (int n = 0; n < count; n++)
            {
                int cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    long nameOff = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, (int)nameOff);
                    if (Encoding.ASCII.GetString(elf, (int)nameOff, end - (int)nameOff) == name)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, (int)aux + 4);
                            changed++;
                        }
                    }
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(elf, (int)vn + 12);
            }
        }
        return changed;
    }
}
