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

    /// <summary>True when descriptor 1 is a pipe whose reader has closed it; false where that cannot be told (Windows).</summary>
    public static bool ReaderGone()
    {
        if (OperatingSystem.IsWindows()) return false;
        var fd = new PollFd { Fd = 1, Events = 0 };
        try { return poll(ref fd, 1, 0) > 0 && (fd.Revents & (PollErr | PollHup)) != 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
