using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Data;

/// <summary>
/// nanoGPT's get_batch: B random offsets i in [0, N − T − 1], x = tokens[i … i+T−1], y = tokens[i+1 … i+T].
/// Offsets come from a seeded <see cref="Xoshiro256"/>, so the same seed gives the same batches and a
/// saved <see cref="State"/> resumes the same sequence.
/// </summary>
public sealed class BatchSampler
{
    readonly TokenFileReader tokens;
    readonly Xoshiro256 rng;
    readonly long[] buffer;
    readonly int? vocabSize;
    public int BatchSize { get; }
    public int BlockSize { get; }

    /// <param name="vocabSize">When given, every id drawn is checked to be below it: the check of a whole cache at its first
    /// open is skipped later by a record in the cache's own folder, which a crafted cache can match, and an id past the
    /// embedding was libtorch's "index out of range".</param>
    public BatchSampler(TokenFileReader tokens, int batchSize, int blockSize, ulong seed, int? vocabSize = null)
    {
        this.vocabSize = vocabSize;
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch_size must be ≥ 1");
        if (tokens.Count < blockSize + 1)
            throw new ArgumentException($"{tokens.Path} holds {tokens.Count} tokens, too few for one block of block_size + 1 = {blockSize + 1}");
        this.tokens = tokens;
        BatchSize = batchSize;
        BlockSize = blockSize;
        rng = new Xoshiro256(seed);
        buffer = new long[blockSize + 1];
    }

    /// <summary>Inputs and targets, each (B, T) int64 on the CPU.</summary>
    public (Tensor X, Tensor Y) Next() => Next(BatchSize);

    /// <summary>
    /// The next <paramref name="rows"/> sequences, (rows, T) each: a batch drawn in pieces is the batch drawn whole,
    /// row for row, since each row takes its offset from the generator in turn.
    /// </summary>
    public (Tensor X, Tensor Y) Next(int rows)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "must be ≥ 1");
        int B = rows, T = BlockSize;
        var x = new long[B * T];
        var y = new long[B * T];
        for (int b = 0; b < B; b++)
        {
            long i = rng.NextInt64(tokens.Count - T);
            tokens.Read(i, buffer);
            if (vocabSize is { } V && buffer.AsSpan().IndexOfAnyExceptInRange(0L, V - 1L) is var bad and >= 0)
                throw new DataException(tokens.Path, $"{tokens.Path}: token {i + bad} has id {buffer[bad]}, outside the vocabulary of {V}");
            Array.Copy(buffer, 0, x, b * T, T);
            Array.Copy(buffer, 1, y, b * T, T);
        }
        return (tensor(x, [B, T]), tensor(y, [B, T]));   // (B, T), (B, T)
    }

    public ulong[] State
    {
        get => rng.State;
        set => rng.State = value;
    }
}
