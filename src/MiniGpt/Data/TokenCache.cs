using MiniGpt.IO;

namespace MiniGpt.Data;

/// <summary>A token cache that is missing (<see cref="Missing"/>), or outdated, damaged or made for another tokenizer: preparing it (again) fixes it.</summary>
public sealed class TokenCacheException(string dir, string message, bool missing = false, Exception? inner = null) : DataException(dir, message, inner)
{
    public bool Missing { get; } = missing;
}

/// <summary>The two parts of a token cache.</summary>
public enum Split { Train, Val }

/// <summary>
/// An opened, validated token cache: its metadata, tokenizer and memory-mapped splits. Its files are untrusted:
/// meta.json's vocabulary must be its tokenizer's, and every id in the splits must lie below it, or a model would
/// be built for the wrong size or index past its embedding. The ids are scanned at the first open, and the files'
/// sizes and times recorded beside them (<see cref="VerifiedFile"/>), so later opens of the same files stay cheap.
/// </summary>
public sealed class TokenCache : IDisposable
{
    /// <summary>The record that the splits' ids were checked against the vocabulary.</summary>
    public const string VerifiedFile = ".ids-verified";

    public string Dir { get; }
    public TokenCacheMeta Meta { get; }
    public ITokenizer Tokenizer { get; }
    public TokenFileReader Train { get; }
    public TokenFileReader Val { get; }

    TokenCache(string dir, TokenCacheMeta meta, ITokenizer tokenizer, TokenFileReader train, TokenFileReader val)
        => (Dir, Meta, Tokenizer, Train, Val) = (dir, meta, tokenizer, train, val);

    /// <param name="expectedTokenizer">If given, the cache must have been built with this tokenizer kind.</param>
    public static TokenCache Open(string dir, TokenizerKind? expectedTokenizer = null)
    {
        CacheReplacement.Recover(dir);
        var meta = TokenCacheMeta.Load(dir);
        if (expectedTokenizer is { } kind && meta.Tokenizer.Kind != kind)
            throw new TokenCacheException(dir, $"token cache {dir} was built with tokenizer {Choices.Name(meta.Tokenizer.Kind)}, but {Choices.Name(kind)} was asked for");
        var train = new TokenFileReader(Path.Combine(dir, TokenCacheMeta.TrainFile));
        var val = new TokenFileReader(Path.Combine(dir, TokenCacheMeta.ValFile));
        foreach (var (reader, expected) in new[] { (train, meta.TrainTokens), (val, meta.ValTokens) })
        {
            if (reader.Count != expected || reader.BytesPerToken != meta.BytesPerToken)
            {
                train.Dispose(); val.Dispose();
                throw new TokenCacheException(dir, $"{reader.Path}: {reader.Count} tokens of {reader.BytesPerToken} bytes, but {TokenCacheMeta.FileName} says {expected} of {meta.BytesPerToken}; the cache is inconsistent");
            }
        }
        try
        {
            var metaPath = Path.Combine(dir, TokenCacheMeta.FileName);
            var tokenizer = Tokenizers.FromDescription(meta.Tokenizer, metaPath);
            if (meta.VocabSize != tokenizer.VocabSize)
                throw new TokenCacheException(dir, $"{metaPath}: vocab_size is {meta.VocabSize}, but its tokenizer has {tokenizer.VocabSize} ids");
            VerifyIds(dir, meta.VocabSize, train, val);
            return new TokenCache(dir, meta, tokenizer, train, val);
        }
        catch
        {
            train.Dispose(); val.Dispose();
            throw;
        }
    }

    /// <summary>The record's text, or null when it is longer than a stamp of <paramref name="length"/> could be: the folder is not ours to trust (a record linked to /dev/zero never ends).</summary>
    static string? Recorded(string record, int length)
    {
        try { return IO.EmptyFile.Is(record) ? null : IO.TextFile.Read(record, 4 * length, "a record of checked ids"); }
        catch (DataException) { return null; }
    }

    static void VerifyIds(string dir, int vocabSize, params TokenFileReader[] splits)
    {
        var stamp = string.Join("\n", splits.Select(r => new FileInfo(r.Path)).Select(f => $"{f.Name} {f.Length} {f.LastWriteTimeUtc.Ticks}").Append($"vocab_size {vocabSize}"));
        var record = Path.Combine(dir, VerifiedFile);
        if (File.Exists(record) && Recorded(record, stamp.Length) == stamp) return;
        var ids = new long[1 << 20];
        foreach (var r in splits)
            for (long start = 0; start < r.Count; start += ids.Length)
            {
                var span = ids.AsSpan(0, (int)Math.Min(ids.Length, r.Count - start));
                r.Read(start, span);
                int bad = span.IndexOfAnyExceptInRange(0L, vocabSize - 1L);
                if (bad >= 0) throw new TokenCacheException(dir, $"{r.Path}: token {start + bad} has id {span[bad]}, outside the vocabulary of {vocabSize}");
            }
        try { AtomicFile.WriteAllText(record, stamp); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // a read-only cache is checked at every open
    }

    public TokenFileReader this[Split split] => split == Split.Val ? Val : Train;

    public void Dispose() { Train.Dispose(); Val.Dispose(); }
}
