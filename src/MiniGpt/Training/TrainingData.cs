using MiniGpt.Config;
using MiniGpt.Data;

namespace MiniGpt.Training;

/// <summary>
/// The token cache a run trains on, prepared from <see cref="TrainConfig.Corpus"/> when data_dir holds none,
/// and its samplers. Evaluation draws from streams seeded by the step, so it never changes which batches
/// training sees, and an evaluation at step k sees the same batches whatever ran before it.
/// </summary>
public sealed class TrainingData : IDisposable
{
    public TokenCache Cache { get; }
    public BatchSampler Train { get; }
    readonly TrainConfig config;

    TrainingData(TokenCache cache, TrainConfig c)
    {
        Cache = cache;
        config = c;
        foreach (var (split, reader) in new[] { (Split.Train, cache.Train), (Split.Val, cache.Val) })
            if (reader.Count < c.BlockSize + 1)
                throw new ConfigException("block_size", c.BlockSize, $"the {Choices.Name(split)} split of {cache.Dir} holds {reader.Count} tokens, fewer than block_size + 1 = {c.BlockSize + 1}");
        Train = new BatchSampler(cache.Train, c.BatchSize, c.BlockSize, (ulong)c.Seed, cache.Meta.VocabSize);
    }

    /// <summary>The batches evaluation at <paramref name="step"/> uses for a split.</summary>
    public BatchSampler EvalBatches(Split split, int step)
    {
        ulong seed = ((ulong)config.Seed * 0x9E3779B97F4A7C15) ^ ((ulong)step << 1) ^ (split == Split.Val ? 1UL : 0UL);
        return new BatchSampler(Cache[split], config.BatchSize, config.BlockSize, seed, Cache.Meta.VocabSize);
    }

    /// <param name="model">A pretrained model's tokenizer, which the cache must have been (or is) prepared with.</param>
    /// <param name="modelName">The pretrained model, for messages.</param>
    public static TrainingData Open(TrainConfig c, IProgress<PrepareProgress>? progress = null, CancellationToken ct = default,
        ITokenizer? model = null, string? modelName = null)
    {
        // A missing cache, or one from an older MiniGpt, is built from the corpus; without a corpus, Open explains.
        // One that a killed prepare left moved aside is put back first, and reused if it still holds the corpus.
        CacheReplacement.Recover(c.DataDir, ct: ct);
        bool missing = !File.Exists(Path.Combine(c.DataDir, TokenCacheMeta.FileName));
        if (c.Corpus is not null && (missing || TokenCacheMeta.IsOutdated(c.DataDir)))
            CorpusPreparer.Prepare(new PrepareOptions(c.Corpus, c.Tokenizer, c.DataDir, c.ValFraction, Fixed: model?.Describe(),
                TextField: c.TextField, ValDocuments: c.ValDocuments), progress, ct);
        else if (c.Corpus is not null && TokenCacheMeta.Load(c.DataDir) is { } meta)
        {
            if (meta.Sources is { } sources && CorpusSources.Changed(sources, c.Corpus) is { } change)
                throw new TokenCacheException(c.DataDir, $"token cache {c.DataDir} does not hold the corpus {c.Corpus} as it is now: {change}; " +
                                                         "it is not reused, so that a run never trains on data other than its corpus");
            if (SplitDiffers(meta, c) is { } split)
                throw new TokenCacheException(c.DataDir, $"token cache {c.DataDir} was prepared with {split}; " +
                                                         "it is not reused, so that a run's val split is the one its config names");
        }
        if (model is not null)
        {
            var meta = TokenCacheMeta.Load(c.DataDir);
            if (!meta.Tokenizer.SameTokenizer(model.Describe()))
            {
                string cache = $"{Choices.Name(meta.Tokenizer.Kind)} ({meta.VocabSize} ids)", ours = $"{Choices.Name(model.Kind)} ({model.VocabSize} ids)";
                throw new DataException(c.DataDir, $"token cache {c.DataDir} was prepared with {cache}, but the model {modelName} uses " +
                    (cache == ours ? "another vocabulary of that kind and size" : ours) + "; give the run another data_dir, where it prepares the corpus with the model's tokenizer");
            }
        }
        return new TrainingData(TokenCache.Open(c.DataDir, c.Tokenizer), c);
    }

    /// <summary>
    /// How the cache's split (or the field its documents were read from) differs from the config's, or null. A run
    /// prepares its corpus with these keys; a cache prepared with others was used silently, its val split not the
    /// one the config named.
    /// </summary>
    static string? SplitDiffers(TokenCacheMeta meta, TrainConfig c)
    {
        static string Show(double x) => ConfigProblem.Format(x);
        if (meta.Documents is { } documents && meta.ValDocuments is { } held)
        {
            // Split by document (val_documents applies to corpora of documents alone): the count is what matters, however it was asked for.
            long wanted = c.ValDocuments ?? CorpusPreparer.ValDocumentsOf(documents, c.ValFraction);
            if (held != wanted)
                return $"{held} of its {documents} documents held out for val, but the config's " +
                       (c.ValDocuments is null ? $"val_fraction = {Show(c.ValFraction)} holds out {wanted}" : $"val_documents = {wanted}");
        }
        else if (meta.ValFraction != c.ValFraction) return $"val_fraction = {Show(meta.ValFraction)}, but the config says {Show(c.ValFraction)}";
        if (meta.TextField is { } field && field != c.TextField) return $"text_field = '{field}', but the config says '{c.TextField}'";
        return null;
    }

    public void Dispose() => Cache.Dispose();
}
