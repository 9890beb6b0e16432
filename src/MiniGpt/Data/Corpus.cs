namespace MiniGpt.Data;

/// <summary>A corpus is one UTF-8 file, or a folder whose .txt files (sorted by path) are read as one text.</summary>
public static class Corpus
{
    public static IReadOnlyList<string> ResolveFiles(string path)
    {
        if (File.Exists(path)) return [Path.GetFullPath(path)];
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path, "*.txt", SearchOption.AllDirectories)
                .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DataException(path, $"corpus folder {path} holds no .txt files");
            return files;
        }
        throw new DataException(path, $"corpus {path} not found");
    }

    /// <summary>The corpus bytes in chunks of at most <paramref name="chunkBytes"/>; the buffer is reused.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(IReadOnlyList<string> files, int chunkBytes)
    {
        var buffer = new byte[chunkBytes];
        foreach (var file in files)
        {
            FileStream stream;
            try { stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            { throw new DataException(file, $"cannot read corpus file {file}: {e.Message}", e); }
            using (stream)
            {
                int n;
                while ((n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
                    yield return buffer.AsMemory(0, n);
            }
        }
    }
}
