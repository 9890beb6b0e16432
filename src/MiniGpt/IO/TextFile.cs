namespace MiniGpt.IO;

/// <summary>A text file read whole, up to a limit: File.ReadAllText would read /dev/zero, or a file of gigabytes, until memory ran out.</summary>
public static class TextFile
{
    /// <summary>The file's text; a <see cref="DataException"/> naming it when it has more than <paramref name="maxChars"/> characters.</summary>
    /// <param name="what">What the file is, for the message ("a prompt file").</param>
    public static string Read(string path, int maxChars, string what)
    {
        var text = new char[Math.Min(maxChars + 1L, Math.Max(new FileInfo(path).Length, 1 << 16) + 1)];   // a device says 0 bytes
        using var reader = new StreamReader(path);
        int read = 0;
        for (int n; (n = reader.ReadBlock(text, read, text.Length - read)) > 0;)
        {
            read += n;
            if (read > maxChars) throw new DataException(path, $"{path}: more than {maxChars:N0} characters, more than {what} may have");
            if (read == text.Length) Array.Resize(ref text, (int)Math.Min(2L * text.Length, maxChars + 1L));
        }
        return new string(text, 0, read);
    }
}
