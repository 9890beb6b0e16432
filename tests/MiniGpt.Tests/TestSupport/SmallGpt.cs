using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.TestSupport;

/// <summary>A small model shape for mixed-precision tests, and seeded random batches for it.</summary>
public static class SmallGpt
{
    public static GptConfig Config => new(VocabSize: 11, BlockSize: 16, NLayer: 2, NHead: 2, NEmbd: 32);

    /// <summary>(x, y), each (4, 16) int64; the same seed gives the same batch.</summary>
    public static (Tensor X, Tensor Y) Batch(long seed)
    {
        using var g = new Generator((ulong)seed);
        return (randint(11, [4, 16], generator: g), randint(11, [4, 16], generator: g));
    }
}
