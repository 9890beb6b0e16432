namespace MiniGpt.Data;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Its whole state is four integers, so a
/// sampler can save it in a checkpoint and resume the exact same sequence on any platform.
/// </summary>
public sealed class Xoshiro256
{
    ulong s0, s1, s2, s3;

    public Xoshiro256(ulong seed)
    {
        s0 = SplitMix(ref seed); s1 = SplitMix(ref seed); s2 = SplitMix(ref seed); s3 = SplitMix(ref seed);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, n) by Lemire's multiply-shift with rejection, so without bias.</summary>
    public long NextInt64(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong un = (ulong)n;
        UInt128 m = (UInt128)NextUInt64() * un;
        if ((ulong)m < un)
        {
            ulong threshold = (0 - un) % un;
            while ((ulong)m < threshold) m = (UInt128)NextUInt64() * un;
        }
        return (long)(ulong)(m >> 64);
    }

    public ulong[] State
    {
        get => [s0, s1, s2, s3];
        set
        {
            if (value is not { Length: 4 } || value.All(v => v == 0)) throw new ArgumentException("a xoshiro256 state is four integers, not all zero");
            (s0, s1, s2, s3) = (value[0], value[1], value[2], value[3]);
        }
    }
}
