using System.Security.Cryptography;

namespace MiniGpt.Data;

/// <summary>
/// One file a token cache was built from, as it was then. Its path is relative to the corpus (the file's own name
/// for a one-file corpus), so a project that moves keeps its caches.
/// </summary>
public sealed record SourceFile(string Path, long Bytes, string Sha256, DateTime ModifiedUtc);

/// <summary>A corpus as read once: each file's record, and the size and SHA-256 of all its bytes one file after another.</summary>
public sealed record RecordedCorpus(IReadOnlyList<SourceFile> Sources, long Bytes, string Sha256);

/// <summary>The source files of a cache, recorded when it is built and compared with the corpus when it is reused.</summary>
public static class CorpusSources
{
    /// <summary>Reads every file once, feeding its own hash and the whole corpus's.</summary>
    public static RecordedCorpus Record(string corpus, IReadOnlyList<string> files)
    {
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var one = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        bool single = files.Count == 1;   // the corpus's bytes are the file's, and one hash is both (half the CPU of two)
        var buffer = new byte[1 << 20];
        var sources = new List<SourceFile>();
        long total = 0;
        foreach (var f in files)
        {
            var info = new FileInfo(f);
            long bytes = 0;
            using (var stream = Corpus.OpenRead(f))
                for (int n; (n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0; bytes += n)
                {
                    one.AppendData(buffer, 0, n);
                    if (!single) whole.AppendData(buffer, 0, n);
                }
            sources.Add(new SourceFile(Relative(corpus, f), bytes, Convert.ToHexStringLower(one.GetHashAndReset()), info.LastWriteTimeUtc));
            total += bytes;
        }
        return new(sources, total, single ? sources[0].Sha256 : Convert.ToHexStringLower(whole.GetHashAndReset()));
    }

    /// <summary>
    /// How the corpus differs from the files a cache was built from, or null when it does not. A file whose size and
    /// time are unchanged is taken as unchanged; one whose time moved is hashed again, so touching a file costs a read, not a rebuild.
    /// A corpus that is gone entirely is no change.
    /// </summary>
    public static string? Changed(IReadOnlyList<SourceFile> recorded, string corpus)
    {
        // A corpus deleted after preparing (a large download, say) leaves a cache that stands on its own.
        if (!File.Exists(corpus) && !Directory.Exists(corpus)) return null;
        IReadOnlyList<string> files;
        try { files = Corpus.ResolveFiles(corpus); }
        catch (DataException) { files = []; }   // a folder left without corpus files: each was removed
        var now = files.ToDictionary(f => Relative(corpus, f));
        // Not one file in common is another corpus, not this one grown ("b.txt was added" when the cache is a.txt's).
        if (now.Count > 0 && recorded.Count > 0 && !recorded.Any(s => now.ContainsKey(s.Path)))
            return $"it was built from {string.Join(", ", recorded.Take(3).Select(s => s.Path))}{(recorded.Count > 3 ? $" and {recorded.Count - 3:N0} more" : "")}";
        if (now.Keys.Except(recorded.Select(s => s.Path)).FirstOrDefault() is { } added) return $"{added} was added";
        foreach (var s in recorded)
        {
            if (!now.TryGetValue(s.Path, out var file)) return $"{s.Path} was removed";
            var info = new FileInfo(file);
            if (info.Length != s.Bytes) return $"{s.Path} now holds {info.Length} bytes, not {s.Bytes}";
            if (info.LastWriteTimeUtc != s.ModifiedUtc && Hash(file) != s.Sha256) return $"{s.Path} was edited (its SHA-256 differs)";
        }
        return null;
    }

    static string Relative(string corpus, string file)
        => File.Exists(corpus) ? System.IO.Path.GetFileName(file) : System.IO.Path.GetRelativePath(corpus, file);

    static string Hash(string file)
    {
        using var stream = Corpus.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
