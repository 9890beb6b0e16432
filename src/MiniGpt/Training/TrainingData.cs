using MiniGpt.Data;

namespace MiniGpt.Training;

/// <summary>
/// The token cache a run trains on, prepared from <see cref="TrainConfig.Corpus"/> when data_dir holds none,
/// and its three samplers: training batches, and the train and val batches of evaluation, each with its own
/// random stream so evaluating never changes which batches training sees.
/// </summary>
public sealed class TrainingData : IDisposable
{
    public TokenCache Cache { get; }
    public BatchSampler Train { get; }
    public BatchSampler EvalTrain { get; }
    public BatchSampler EvalVal { get; }

    TrainingData(TokenCache cache, TrainConfig c)
    {
        Cache = cache;
        ulong seed = (ulong)c.Seed;
        foreach (var (split, reader) in new[] { ("train", cache.Train), ("val", cache.Val) })
            if (reader.Count < c.BlockSize + 1)
                throw new ConfigException([$"block_size = {c.BlockSize}: the {split} split of {cache.Dir} holds {reader.Count} tokens, fewer than block_size + 1 = {c.BlockSize + 1}"]);
        Train = new BatchSampler(cache.Train, c.BatchSize, c.BlockSize, seed);
        EvalTrain = new BatchSampler(cache.Train, c.BatchSize, c.BlockSize, seed ^ 0x5EED_0001);
        EvalVal = new BatchSampler(cache.Val, c.BatchSize, c.BlockSize, seed ^ 0x5EED_0002);
    }

    public static TrainingData Open(TrainConfig c, IProgress<PrepareProgress>? progress = null, CancellationToken ct = default)
    {
        if (!File.Exists(Path.Combine(c.DataDir, TokenCacheMeta.FileName)))
        {
            if (c.Corpus is null)
                throw new FileNotFoundException($"no token cache in data_dir {c.DataDir} and no corpus to prepare one from; run 'minigpt prepare' or set corpus");
            CorpusPreparer.Prepare(new PrepareOptions(c.Corpus, c.Tokenizer, c.DataDir, c.ValFraction), progress, ct);
        }
        return new TrainingData(TokenCache.Open(c.DataDir, c.Tokenizer), c);
    }

    public void Dispose() => Cache.Dispose();
}
