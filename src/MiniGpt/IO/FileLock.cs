namespace MiniGpt.IO;

/// <summary>One process at a time, by a file the kernel locks for as long as the process lives, however it ends.</summary>
public static class FileLock
{
    /// <summary>
    /// The lock at <paramref name="path"/>, held; null when another process holds it. Any other failure (a read-only
    /// folder, a full disk) is the <see cref="IOException"/> it is, not a lock held elsewhere.
    /// </summary>
    public static FileStream? TryHold(string path)
    {
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) when (HeldElsewhere(e)) { return null; }
    }

    // .NET reports a lock held elsewhere with the system's own code: EWOULDBLOCK (Linux 11, macOS 35), or a
    // sharing or lock violation on Windows.
    static bool HeldElsewhere(IOException e) => e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);
}
