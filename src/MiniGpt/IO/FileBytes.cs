namespace MiniGpt.IO;

/// <summary>A file's bytes read whole, up to a limit: File.ReadAllBytes reads a device such as /dev/zero (0 bytes by its size) until memory runs out.</summary>
public static class FileBytes
{
    /// <summary>The file's bytes; null when it has more than <paramref name="maxBytes"/>, found by reading one byte past the limit at most.</summary>
    public static byte[]? Read(string path, int maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var bytes = new byte[Math.Min(maxBytes + 1L, Math.Max(new FileInfo(path).Length, 1 << 16) + 1)];
        int read = 0;
        for (int n; (n = stream.Read(bytes, read, bytes.Length - read)) > 0;)
        {
            read += n;
            if (read > maxBytes) return null;
            if (read == bytes.Length) Array.Resize(ref bytes, (int)Math.Min(2L * bytes.Length, maxBytes + 1L));
        }
        return read == bytes.Length ? bytes : bytes[..read];
    }
}
