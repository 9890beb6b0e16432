namespace MiniGpt.IO;

/// <summary>
/// A file that must hold data is refused by its size before it is opened: an empty file, a FIFO and a device such
/// as /dev/zero all say 0 bytes, and opening a FIFO waits for a writer for ever. Files a user may give as a pipe
/// (a prompt, a config, a text to evaluate) are not checked so.
/// </summary>
public static class EmptyFile
{
    /// <summary>The file <paramref name="path"/> names, through any links: a link's own size is that of the path it holds.</summary>
    public static FileInfo Target(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target ? target : info;
    }

    /// <summary>True when <paramref name="path"/> names a file, through any links, that says it holds 0 bytes.</summary>
    public static bool Is(string path) => Target(path) is { Exists: true, Length: 0 };

    /// <summary>What such a file is, for a message.</summary>
    public const string Says = "0 bytes (an empty file, or a pipe or device)";
}
