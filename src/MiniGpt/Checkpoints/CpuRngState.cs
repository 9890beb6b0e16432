using System.Buffers.Binary;

namespace MiniGpt.Checkpoints;

/// <summary>
/// libtorch's CPU generator state as torch.get_rng_state returns it (CPUGeneratorImplState, 5056 bytes): an
/// mt19937 (initial seed, left, seeded, next, 624 words), the cached normal sample, a cached float sample.
/// libtorch checks it with an assertion that TorchSharp does not catch, so a state read from a file is checked
/// here first; one that passes is accepted by libtorch.
/// </summary>
public static class CpuRngState
{
    public const int Size = 5056;
    const int StateWords = 624;

    /// <summary>What is wrong with a state, or null.</summary>
    public static string? Problem(byte[] state)
    {
        if (state.Length != Size) return $"has {state.Length} bytes; libtorch's CPU generator has {Size}";
        var s = state.AsSpan();
        int left = BinaryPrimitives.ReadInt32LittleEndian(s[8..]), seeded = BinaryPrimitives.ReadInt32LittleEndian(s[12..]);
        ulong next = BinaryPrimitives.ReadUInt64LittleEndian(s[16..]);
        int normalValid = BinaryPrimitives.ReadInt32LittleEndian(s[5040..]);
        if (seeded != 1 || left < 1 || left > StateWords || next > StateWords || normalValid is not (0 or 1) || state[5052] > 1)
            return "is not one libtorch's CPU generator can be in";
        return null;
    }
}
