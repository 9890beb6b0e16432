using System.Runtime.InteropServices;

namespace MiniGpt.IO;

/// <summary>
/// A file that must hold data is refused by its size before it is opened: an empty file, a FIFO and a device such
/// as /dev/zero all say 0 bytes, and opening a FIFO waits for a writer for ever. Files a user may give as a pipe
/// (a prompt, a config, a text to evaluate) are not checked so.
/// </summary>
public static class EmptyFile
{
    /// <summary>
    /// The file <paramref name="path"/> names, through any links, as the kernel finds it; null when it names nothing (a
    /// link to nothing, which .NET takes for a file of its own). A link's own size is that of the path it holds, and .NET
    /// resolves a relative link against the path as written, so a hub snapshot's ../../blobs/… reached through a linked
    /// folder pointed nowhere. A pipe of process substitution (/dev/fd/63) has no path to resolve to, but opens: it is
    /// itself, with the size .NET gives it.
    /// </summary>
    static FileInfo? Target(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                var resolved = realpath(path, IntPtr.Zero);
                if (resolved == IntPtr.Zero) return access(path, 0) == 0 ? new FileInfo(path) : null;   // F_OK, through links
                try { return new FileInfo(Marshal.PtrToStringUTF8(resolved)!); }
                finally { free(resolved); }
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }
        var info = new FileInfo(path);
        if (info.LinkTarget is null) return info.Exists ? info : null;
        return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } target ? target : null;
    }

    /// <summary>The size of the file <paramref name="path"/> names, through any links; null when it names no file.</summary>
    public static long? Size(string path) => Target(path) is { Exists: true } file ? file.Length : null;

    /// <summary>True when <paramref name="path"/> names a file, through any links, that says it holds 0 bytes.</summary>
    public static bool Is(string path) => Size(path) == 0;

    /// <summary>What such a file is, for a message.</summary>
    public const string Says = "0 bytes (an empty file, or a pipe or device)";

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false)]
    static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    static extern void free(IntPtr p);

    [DllImport("libc")]
    static extern int access([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);
}
