using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// One layer's keys and values for incremental decoding: the new positions' K and V are written after
/// the ones already held, so attention for a new token costs O(T) instead of recomputing O(T²).
/// </summary>
public sealed class LayerKvCache : IDisposable
{
    // (B, nh, rows, hs): rows for the positions reached so far, grown as PositionRows says up to Capacity. Allocated
    // whole, a sample asking for a million new tokens of a model with a block of 2^20 held gigabytes before its first.
    Tensor k, v;
    public long Length { get; private set; }
    public long Capacity { get; }

    /// <summary>Positions the tensors have room for now.</summary>
    public long Rows => k.size(2);

    public LayerKvCache(long B, long nh, long capacity, long hs, ScalarType dtype, Device device)
    {
        Capacity = capacity;
        k = zeros([B, nh, PositionRows.First(capacity), hs], dtype: dtype, device: device);
        v = zeros([B, nh, PositionRows.First(capacity), hs], dtype: dtype, device: device);
    }

    /// <summary>Stores (B, nh, T, hs) new keys and values; returns all held so far, (B, nh, Length, hs).</summary>
    public (Tensor K, Tensor V) Append(Tensor kNew, Tensor vNew)
    {
        long T = kNew.size(2);
        if (Length + T > Capacity)
            throw new InvalidOperationException($"KV cache full: {Length} + {T} positions exceed its capacity {Capacity}");
        if (Length + T > Rows) Grow(PositionRows.Grown(Rows, Length + T, Capacity));
        using (no_grad())
        {
            k.narrow(2, Length, T).copy_(kNew);
            v.narrow(2, Length, T).copy_(vNew);
        }
        Length += T;
        return (k.narrow(2, 0, Length), v.narrow(2, 0, Length));
    }

    /// <summary>
    /// Moves the held positions into tensors of <paramref name="rows"/>: outside the caller's dispose scope (a
    /// sampling step's would free them at its end), and ordinary tensors even in inference mode, so that they can be
    /// written outside it.
    /// </summary>
    void Grow(long rows)
    {
        using var scope = NewDisposeScope();
        using var normal = inference_mode(false);
        using var _ = no_grad();
        var (k2, v2) = (zeros([k.size(0), k.size(1), rows, k.size(3)], dtype: k.dtype, device: k.device), zeros([v.size(0), v.size(1), rows, v.size(3)], dtype: v.dtype, device: v.device));   // (B, nh, rows, hs)
        k2.narrow(2, 0, Length).copy_(k.narrow(2, 0, Length));
        v2.narrow(2, 0, Length).copy_(v.narrow(2, 0, Length));
        k.Dispose(); v.Dispose();
        (k, v) = (k2.DetachFromDisposeScope(), v2.DetachFromDisposeScope());
    }

    /// <summary>The keys and values held, (B, nh, Length, hs) each.</summary>
    public (Tensor K, Tensor V) Held => (k.narrow(2, 0, Length), v.narrow(2, 0, Length));

    public void Reset() => Length = 0;

    public void Dispose() { k.Dispose(); v.Dispose(); }
}

/// <summary>A <see cref="LayerKvCache"/> per block, all at the same length.</summary>
public sealed class KvCache : IDisposable
{
    public IReadOnlyList<LayerKvCache> Layers { get; }
    public long Length => Layers[0].Length;

    /// <param name="capacity">Positions it may hold, at most block_size: no more than a sample will reach. Each layer's
    /// keys and values grow to the positions given, up to it.</param>
    public KvCache(GptConfig config, long B, long capacity, ScalarType dtype, Device device)
    {
        if (capacity is < 1 || capacity > config.BlockSize)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"must be in [1, block_size = {config.BlockSize}]");
        Layers = Enumerable.Range(0, config.NLayer)
            .Select(_ => new LayerKvCache(B, config.NHead, capacity, config.HeadSize, dtype, device)).ToList();
    }

    public void Reset() { foreach (var l in Layers) l.Reset(); }

    public void Dispose() { foreach (var l in Layers) l.Dispose(); }
}
