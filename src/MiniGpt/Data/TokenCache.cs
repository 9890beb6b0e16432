namespace MiniGpt.Data;

/// <summary>A token cache that is missing (<see cref="Missing"/>), or outdated, damaged or made for another tokenizer: preparing it (again) fixes it.</summary>
public sealed class TokenCacheException(string dir, string message, bool missing = false, Exception? inner = null) : DataException(dir, message, inner)
{
    public bool Missing { get; } = missing;
}

/// <summary>The two parts of a token cache.</summary>
public enum Split { Train, Val }

/// <summary>An opened, validated token cache: its metadata, tokenizer and memory-mapped splits.</summary>
public sealed class TokenCache : IDisposable
{
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
        return new TokenCache(dir, meta, Tokenizers.FromDescription(meta.Tokenizer, Path.Combine(dir, TokenCacheMeta.FileName)), train, val);
    }

    public TokenFileReader this[Split split] => split == Split.Val ? Val : Train;

    public void Dispose() { Train.Dispose(); Val.Dispose(); }
}
