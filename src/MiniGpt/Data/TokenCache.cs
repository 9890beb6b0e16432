namespace MiniGpt.Data;

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
    public static TokenCache Open(string dir, string? expectedTokenizer = null)
    {
        var meta = TokenCacheMeta.Load(dir);
        if (expectedTokenizer is not null && meta.Tokenizer.Kind != expectedTokenizer)
            throw new InvalidDataException($"token cache {dir} was built with tokenizer '{meta.Tokenizer.Kind}', but '{expectedTokenizer}' was asked for; run 'minigpt prepare' again or change the tokenizer");
        var train = new TokenFileReader(Path.Combine(dir, TokenCacheMeta.TrainFile));
        var val = new TokenFileReader(Path.Combine(dir, TokenCacheMeta.ValFile));
        foreach (var (reader, expected) in new[] { (train, meta.TrainTokens), (val, meta.ValTokens) })
        {
            if (reader.Count != expected || reader.BytesPerToken != meta.BytesPerToken)
            {
                train.Dispose(); val.Dispose();
                throw new InvalidDataException($"{reader.Path}: {reader.Count} tokens of {reader.BytesPerToken} bytes, but {TokenCacheMeta.FileName} says {expected} of {meta.BytesPerToken}; the cache is inconsistent, prepare it again");
            }
        }
        return new TokenCache(dir, meta, Tokenizers.FromDescription(meta.Tokenizer), train, val);
    }

    public void Dispose() { Train.Dispose(); Val.Dispose(); }
}
