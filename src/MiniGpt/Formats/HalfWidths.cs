using System.Numerics;

namespace MiniGpt.Formats;

/// <summary>
/// Widens F16 and BF16 to float32 exactly, NaN sign and payload included (libtorch's copy_ rewrites some NaNs, so
/// a file read through it would not give back the bits it holds).
/// </summary>
static class HalfWidths
{
    /// <summary>16-bit floats as float32 bits, a vector at a time: a loop over System.Half would be the slow part of reading a half-width model.</summary>
    public static void Widen(TensorDtype dtype, ReadOnlySpan<ushort> from, Span<uint> to)
    {
        int i = 0;
        for (; i + Vector<ushort>.Count <= from.Length; i += Vector<ushort>.Count)
        {
            Vector.Widen(new Vector<ushort>(from[i..]), out var low, out var high);
            Widen(dtype, low).CopyTo(to[i..]);
            Widen(dtype, high).CopyTo(to[(i + Vector<uint>.Count)..]);
        }
        for (; i < from.Length; i++) to[i] = Widen(dtype, new Vector<uint>(from[i]))[0];     // the tail, one lane used
    }

    static readonly Vector<float> TwoToMinus112 = new(BitConverter.UInt32BitsToSingle(15u << 23));

    /// <summary>
    /// Exact widening: BF16 is the top half of an F32. F16 by Maratyszcza's branch-free method (libtorch's scalar
    /// one): normal numbers, infinities and NaNs (sign and payload kept) by moving the exponent and scaling by
    /// 2^-112; subnormals by building 0.5 + m·2^-24 and subtracting 0.5, which is exact.
    /// </summary>
    static Vector<uint> Widen(TensorDtype dtype, Vector<uint> h)
    {
        var w = h << 16;
        if (dtype == TensorDtype.BF16) return w;
        var twoW = w + w;                                                                       // the sign shifted out
        var normal = Vector.AsVectorUInt32(Vector.AsVectorSingle((twoW >> 4) + new Vector<uint>(0xE0u << 23)) * TwoToMinus112);
        var subnormal = Vector.AsVectorUInt32(Vector.AsVectorSingle((twoW >> 17) | new Vector<uint>(126u << 23)) - new Vector<float>(0.5f));
        return (w & new Vector<uint>(0x80000000)) | Vector.ConditionalSelect(Vector.LessThan(twoW, new Vector<uint>(1u << 27)), subnormal, normal);
    }
}
