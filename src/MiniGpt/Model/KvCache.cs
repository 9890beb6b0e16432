using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Model;

/// <summary>
/// One layer's keys and values for incremental decoding: the new positions' K and V are written after
/// the ones already held, so attention for a new token costs O(T) instead of recomputing O(T²).
/// </summary>
public sealed class LayerKvCache : IDisposable
{
    readonly Tensor k, v;   // (B, nh, capacity, hs)
    public long Length { get; private set; }
    public long Capacity => k.size(2);

    public LayerKvCache(long B, long nh, long capacity, long hs, ScalarType dtype, Device device)
    {
        k = zeros([B, nh, capacity, hs], dtype: dtype, device: device);
        v = zeros([B, nh, capacity, hs], dtype: dtype, device: device);
    }

    /// <summary>Stores (B, nh, T, hs) new keys and values; returns all held so far, (B, nh, Length, hs).</summary>
    public (Tensor K, Tensor V) Append(Tensor kNew, Tensor vNew)
    {
        long T = kNew.size(2);
        if (Length + T > Capacity)
            throw new InvalidOperationException($"KV cache full: {Length} + {T} positions exceed its capacity {Capacity}");
        using (no_grad())
        {
            k.narrow(2, Length, T).copy_(kNew);
            v.narrow(2, Length, T).copy_(vNew);
        }
        Length += T;
        return (k.narrow(2, 0, Length), v.narrow(2, 0, Length));
    }

    public void Reset() => Length = 0;

    public void Dispose() { k.Dispose(); v.Dispose(); }
}

/// <summary>A <see cref="LayerKvCache"/> per block, all at the same length.</summary>
public sealed class KvCache : IDisposable
{
    public IReadOnlyList<LayerKvCache> Layers { get; }
    public long Length => Layers[0].Length;

    /// <param name="capacity">Positions held, at most block_size: no more than a sample will reach, since every
    /// layer's keys and values are made in full at once.</param>
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
