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
        foreach (var (split, reader) in new[] { ("train", cache.Train), ("val", cache.Val) })
            if (reader.Count < c.BlockSize + 1)
                throw new ConfigException([$"block_size = {c.BlockSize}: the {split} split of {cache.Dir} holds {reader.Count} tokens, fewer than block_size + 1 = {c.BlockSize + 1}"]);
        Train = new BatchSampler(cache.Train, c.BatchSize, c.BlockSize, (ulong)c.Seed);
    }

    /// <summary>The batches evaluation at <paramref name="step"/> uses for a split ("train" or "val").</summary>
    public BatchSampler EvalBatches(string split, int step)
    {
        ulong seed = ((ulong)config.Seed * 0x9E3779B97F4A7C15) ^ ((ulong)step << 1) ^ (split == "val" ? 1UL : 0UL);
        return new BatchSampler(split == "val" ? Cache.Val : Cache.Train, config.BatchSize, config.BlockSize, seed);
    }

    public static TrainingData Open(TrainConfig c, IProgress<PrepareProgress>? progress = null, CancellationToken ct = default)
    {
        bool missing = !File.Exists(Path.Combine(c.DataDir, TokenCacheMeta.FileName));
        // A cache from an older MiniGpt is rebuilt from the corpus it names; without a corpus, Open explains.
        if (missing || (c.Corpus is not null && TokenCacheMeta.IsOutdated(c.DataDir)))
        {
            if (c.Corpus is null)
                throw new FileNotFoundException($"no token cache in data_dir {c.DataDir} and no corpus to prepare one from; run 'minigpt prepare' or set corpus");
            CorpusPreparer.Prepare(new PrepareOptions(c.Corpus, c.Tokenizer, c.DataDir, c.ValFraction), progress, ct);
        }
        return new TrainingData(TokenCache.Open(c.DataDir, c.Tokenizer), c);
    }

    public void Dispose() => Cache.Dispose();
}
