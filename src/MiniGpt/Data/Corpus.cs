namespace MiniGpt.Data;

/// <summary>How a corpus file holds its text, by its name's ending.</summary>
public enum CorpusFormat
{
    /// <summary>.txt (or any name not below): UTF-8 text.</summary>
    Text,
    /// <summary>.jsonl: one JSON object a line, a document each.</summary>
    JsonLines,
    /// <summary>.jsonl.gz: JSON Lines compressed with gzip.</summary>
    GzipJsonLines,
    /// <summary>.parquet: a document a row.</summary>
    Parquet,
}

/// <summary>
/// A corpus is one file, or a folder whose .txt, .jsonl, .jsonl.gz and .parquet files (recursively, links to
/// folders not followed, sorted by ordinal path) are read in turn. A corpus of text files only is one text, as it always was; any other
/// file makes it a corpus of documents (<see cref="Documents"/>).
/// </summary>
public static class Corpus
{
    public static IReadOnlyList<string> ResolveFiles(string path)
    {
        if (File.Exists(path)) return [Path.GetFullPath(path)];
        if (Directory.Exists(path))
        {
            var files = FilesBelow(path)
                .Where(f => FormatOf(f) != CorpusFormat.Text || f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
                .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DataException(path, $"corpus folder {path} holds no .txt, .jsonl, .jsonl.gz or .parquet files");
            return files;
        }
        throw new DataException(path, $"corpus {path} not found");
    }

    /// <summary>
    /// Every file in <paramref name="folder"/> and its subfolders, as Python's os.walk and find list them: a link to a
    /// file is a file, a link to a folder is not followed. Followed, a link back up (<c>sub/up → ..</c>) would read
    /// the same files again, and two (<c>x → .</c>, <c>y → .</c>) would make the walk exponential.
    /// </summary>
    static IEnumerable<string> FilesBelow(string folder)
    {
        var one = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0 };   // hidden ones too, as before
        var folders = new Stack<string>([folder]);
        while (folders.TryPop(out var dir))
        {
            foreach (var f in Directory.EnumerateFiles(dir, "*", one)) yield return f;
            foreach (var d in Directory.EnumerateDirectories(dir, "*", one))
                if (new DirectoryInfo(d).LinkTarget is null) folders.Push(d);
        }
    }

    public static CorpusFormat FormatOf(string file)
        => file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) ? CorpusFormat.JsonLines
            : file.EndsWith(".jsonl.gz", StringComparison.OrdinalIgnoreCase) ? CorpusFormat.GzipJsonLines
            : file.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? CorpusFormat.Parquet
            : CorpusFormat.Text;

    /// <summary>Whether the files are read as documents rather than as one text.</summary>
    public static bool IsDocuments(IReadOnlyList<string> files) => files.Any(f => FormatOf(f) != CorpusFormat.Text);

    /// <summary>The corpus bytes in chunks of at most <paramref name="chunkBytes"/>; the buffer is reused.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(IReadOnlyList<string> files, int chunkBytes)
    {
        var buffer = new byte[chunkBytes];
        foreach (var file in files)
        {
            using var stream = OpenRead(file);
            int n;
            while ((n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
                yield return buffer.AsMemory(0, n);
        }
    }

    /// <summary>Opens a corpus file, naming it if it cannot be read.</summary>
    public static FileStream OpenRead(string file)
    {
        try { return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        { throw new DataException(file, $"cannot read corpus file {file}: {e.Message}", e); }
    }
}
