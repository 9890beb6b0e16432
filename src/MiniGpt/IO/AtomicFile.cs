namespace MiniGpt.IO;

/// <summary>
/// Writes a file so that readers see either the old complete file or the new complete one: the bytes go
/// to a temporary file beside it, are flushed to disk, and only then renamed over the target. If writing
/// fails, the temporary file is removed and the target is untouched.
/// </summary>
public static class AtomicFile
{
    /// <param name="wrap">Lets tests put a failing stream in between; null in normal use.</param>
    public static void Write(string path, Action<Stream> write, Func<Stream, Stream>? wrap = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, TempName(path));
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var stream = wrap?.Invoke(file) ?? file;
                write(stream);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>As <see cref="Write"/>, for a writer that takes a path (a library that saves files itself): it writes the temporary file.</summary>
    public static void WriteVia(string path, Action<string> writeTo)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, TempName(path));
        try
        {
            writeTo(tmp);
            using (var file = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite)) file.Flush(flushToDisk: true);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    const string TempSuffix = ".tmp";

    /// <summary>
    /// A temporary name for <paramref name="path"/>: ".NAME.GUID.tmp", with NAME cut so that the whole stays within
    /// the 255 bytes a file name may have (a target of a long name could not be written at all).
    /// </summary>
    public static string TempName(string path) => $"{Prefix(path)}{Guid.NewGuid():N}{TempSuffix}";

    /// <summary>".NAME." for <paramref name="path"/>, NAME cut to leave room for 32 digits and 16 bytes more.</summary>
    public static string Prefix(string path)
    {
        var name = Path.GetFileName(path);
        const int Room = 255 - 2 - 32 - 16;   // the dots, a GUID's digits, and 16 bytes for what goes around them ("export-", ".lock", ".tmp")
        while (System.Text.Encoding.UTF8.GetByteCount(name) > Room) name = name[..^1];
        if (name.Length > 0 && char.IsHighSurrogate(name[^1])) name = name[..^1];   // never half a character
        return $".{name}.";
    }

    /// <summary>Temporary files a killed writer of <paramref name="path"/> left behind (none are complete).</summary>
    public static IReadOnlyList<string> Leftovers(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Directory.Exists(dir) ? Directory.GetFiles(dir, $"{Prefix(path)}*{TempSuffix}") : [];
    }

    public static void WriteAllText(string path, string text)
        => Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });
}
