using System.Runtime.InteropServices;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// Whether whoever reads this process's standard output has gone (<c>minigpt generate | head</c>). .NET's console
/// writer takes a broken pipe for success, so a sample of a million tokens went on to the end for no one. A pipe
/// whose reader has closed it polls as an error.
/// </summary>
static class StandardOutput
{
    [StructLayout(LayoutKind.Sequential)]
    struct PollFd { public int Fd; public short Events; public short Revents; }

    [DllImport("libc")]
    static extern int poll(ref PollFd fds, nuint count, int timeoutMs);

    const short PollErr = 0x008, PollHup = 0x010;

    [DllImport("libc")]
    static extern int fcntl(int fd, int cmd);

    /// <summary>
    /// True when descriptor 1 cannot be written (<c>minigpt ... &gt;&amp;-</c>): closed, or, since the runtime's
    /// first open() takes the lowest free descriptor, one of its own files opened for reading. .NET's first write
    /// then failed with "Access to the path is denied", which names no path. False where that cannot be told (Windows).
    /// </summary>
    public static bool Closed()
    {
        if (OperatingSystem.IsWindows()) return false;
        const int GetStatusFlags = 3, AccessMode = 3, ReadOnly = 0;   // F_GETFL, O_ACCMODE, O_RDONLY
        try { return fcntl(1, GetStatusFlags) is var flags && (flags == -1 || (flags & AccessMode) == ReadOnly); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>True when descriptor 1 is a pipe whose reader has closed it; false where that cannot be told (Windows).</summary>
    public static bool ReaderGone()
    {
        if (OperatingSystem.IsWindows()) return false;
        var fd = new PollFd { Fd = 1, Events = 0 };
        try { return poll(ref fd, 1, 0) > 0 && (fd.Revents & (PollErr | PollHup)) != 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
