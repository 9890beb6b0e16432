using System.Buffers.Binary;
using System.Text;
using MiniGpt.Formats;
using MiniGpt.Tests.TestSupport;
using static MiniGpt.Tests.TestSupport.CraftedSafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Formats;

public class SafeTensorsTests
{
    static readonly Dictionary<string, string> Pt = new() { ["format"] = "pt" };

    /// <summary>Float32 values that a lossy path would change: signed zero, a subnormal, infinities, NaN, extremes.</summary>
    static Tensor Awkward() => tensor(new[] { -0f, 1e-45f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.Epsilon * 3, 1f / 3 });

    static bool SameBits(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    [Fact]
    public void F32_RoundTrips_BitExact_WithRankZeroEmptyAndOddShapes()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        var g = new Generator(7);
        (string, Tensor)[] tensors =
        [
            ("h.0.w", randn([3, 5, 7], generator: g)), ("scalar", tensor(2.5f)), ("empty", zeros(0, 4)),
            ("odd", randn([1, 1, 13], generator: g)), ("awkward", Awkward()), ("transposed", randn([4, 3], generator: g).t()),
            ("column", randn([6, 4], generator: g).select(1, 1)),         // a strided view: its pieces are strided too
        ];
        SafeTensorsWriter.Write(path, tensors, TensorDtype.F32, Pt);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(tensors.Select(t => t.Item1), f.Tensors.Select(t => t.Name));
        Assert.Equal((TensorDtype.F32, 3 * 5 * 7 * 4L, 3 * 5 * 7 * 4 + 4L), (f["scalar"].Dtype, f["scalar"].Begin, f["scalar"].End));
        Assert.Empty(f["scalar"].Shape);
        Assert.Equal(f["empty"].Begin, f["empty"].End);
        foreach (var (name, t) in tensors)
        {
            using var whole = f.ReadFloat32(name);
            using var pieces = f.ReadFloat32(name, pieceBytes: 12);     // 3 floats a read: pieces that do not divide the tensors
            Assert.True(SameBits(t, whole), name);
            Assert.True(SameBits(t, pieces), name);
        }
    }

    [Fact]
    public void PiecesOfAnySize_WriteTheSameBytes()
    {
        using var dir = new TempDir();
        var (whole, pieces) = (Path.Combine(dir.Path, "a.safetensors"), Path.Combine(dir.Path, "b.safetensors"));
        (string, Tensor)[] tensors = [("a", randn(5, 7)), ("column", randn(6, 4).select(1, 1))];
        foreach (var dtype in new[] { TensorDtype.F32, TensorDtype.F16, TensorDtype.BF16 })
        {
            SafeTensorsWriter.Write(whole, tensors, dtype);
            SafeTensorsWriter.Write(pieces, tensors, dtype, pieceBytes: 6);
            Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(pieces));
        }
    }

    [Theory]
    [InlineData(TensorDtype.F16, ScalarType.Float16, 1.0 / 2048)]
    [InlineData(TensorDtype.BF16, ScalarType.BFloat16, 1.0 / 256)]
    public void HalfWidths_RoundTrip_WithinRounding_AndBitForBitAsTorchSharpConverts(TensorDtype dtype, ScalarType type, double relative)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        // Values of many magnitudes, ties between two half values (1 + 2^-11 for F16, 1 + 2^-8 for BF16), and the awkward ones.
        var t = cat([randn(300, generator: new Generator(3)) * 100, tensor(new[] { 1 + 1f / 2048, 1 + 3f / 2048, 1 + 1f / 256, 1 + 3f / 256 }), Awkward()]);
        SafeTensorsWriter.Write(path, [("w", t.reshape(2, -1))], dtype);

        using var expected = t.to(type);
        var data = File.ReadAllBytes(path)[^(int)(t.numel() * 2)..];
        Assert.Equal(expected.bytes.ToArray(), data);

        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(dtype, f["w"].Dtype);
        using var back = f.ReadFloat32("w", pieceBytes: 14).reshape(-1);
        Assert.True(SameBits(expected.to(float32), back));
        // Where both widths hold the value as a normal number, rounding moves it by at most half a unit in the last place.
        using var normal = t.isfinite() & (t.abs() > 1e-4) & (t.abs() < 60000);
        Assert.True(((back - t).abs() <= t.abs() * relative).logical_or(normal.logical_not()).all().item<bool>());
    }

    [Fact]
    public void Header_IsPaddedWithSpaces_ToAMultipleOf8_AndKeepsTheMetadata()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        for (int length = 1; length <= 8; length++)
        {
            SafeTensorsWriter.Write(path, [(new string('x', length), ones(2))], TensorDtype.F32, Pt);
            var bytes = File.ReadAllBytes(path);
            long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            Assert.Equal(0, (8 + n) % 8);
            var json = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.EndsWith("}", json.TrimEnd(' '));
            using var f = SafeTensorsFile.Open(path);
            Assert.Equal(Pt, f.Metadata);
        }
    }

    [Fact]
    public void Writer_ProducesExactlyTheHandBuiltBytes()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "golden.safetensors");
        SafeTensorsWriter.Write(path, [("a", tensor(new[] { 1.0f, -2.0f }))], TensorDtype.F32, Pt);
        const string json = """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   """;
        byte[] expected = [88, 0, 0, 0, 0, 0, 0, 0, .. Encoding.ASCII.GetBytes(json), 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0];
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public void Reader_TakesAnUnpaddedHeader_WithKeysOutOfOffsetOrder()
    {
        using var dir = new TempDir();
        // 139 bytes of JSON: the data starts at byte 147, not a multiple of 8. "b" is listed first but stored second.
        const string json = """{"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        var path = CraftedSafeTensors.Write(dir, json, [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x38, 0x00, 0xFC]);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal(["a", "b"], f.Tensors.Select(t => t.Name));
        Assert.Equal(new long[] { 8, 12 }, new[] { f["b"].Begin, f["b"].End });
        Assert.Equal(Pt, f.Metadata);
        Assert.Equal([1.0f, -2.0f], f.ReadFloat32("a").data<float>().ToArray());
        Assert.Equal([0.5f, float.NegativeInfinity], f.ReadFloat32("b").data<float>().ToArray());
    }

    [Fact]
    public void NullMetadata_AndAnEmptyHeader_AreAccepted()
    {
        using var dir = new TempDir();
        using var f = SafeTensorsFile.Open(CraftedSafeTensors.Write(dir, """{"__metadata__":null}"""));
        Assert.Empty(f.Metadata);
        Assert.Empty(f.Tensors);
    }

    [Theory]
    [InlineData(TensorDtype.F16, new ushort[] { 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0x3C00, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE01 })]
    [InlineData(TensorDtype.BF16, new ushort[] { 0x0001, 0x8001, 0x007F, 0x0080, 0x7F7F, 0x3F80, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC1 })]
    public void HalfWidths_WidenExactly_SubnormalsInfinitiesAndNaN(TensorDtype dtype, ushort[] bits)
    {
        using var dir = new TempDir();
        var data = bits.SelectMany(b => new[] { (byte)b, (byte)(b >> 8) }).ToArray();
        var path = CraftedSafeTensors.Write(dir, $$"""{"x":{{Entry($"{dtype}", $"[{bits.Length}]", $"[0,{data.Length}]")}}}""", data);
        using var f = SafeTensorsFile.Open(path);
        var read = f.ReadFloat32("x").data<float>().ToArray();
        for (int i = 0; i < bits.Length; i++)
        {
            // BF16 is the top half of an F32; F16 widens exactly, sign and NaN payload kept (2^-24 is its smallest subnormal).
            float expected = dtype == TensorDtype.BF16 ? BitConverter.Int32BitsToSingle(bits[i] << 16) : (float)BitConverter.UInt16BitsToHalf(bits[i]);
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(read[i]), $"{bits[i]:X4}: {expected} expected, {read[i]} read");
        }
        Assert.True(float.IsNaN(read[^1]) && float.IsNegative(read[^1]));
        if (dtype == TensorDtype.F16) Assert.Equal([MathF.Pow(2, -24), -MathF.Pow(2, -24), 65504f, float.PositiveInfinity], [read[0], read[1], read[4], read[7]]);
    }

    [Theory]
    [InlineData(TensorDtype.F16)]
    [InlineData(TensorDtype.BF16)]
    public void EveryHalfWidthValue_WidensBitForBit_AsSystemHalfAndTheTopHalfOfAnF32(TensorDtype dtype)
    {
        using var dir = new TempDir();
        // All 65,536 bit patterns, in vector-sized pieces and in pieces with a tail (7 values).
        var data = Enumerable.Range(0, 1 << 16).SelectMany(b => new[] { (byte)b, (byte)(b >> 8) }).ToArray();
        var path = CraftedSafeTensors.Write(dir, $$"""{"x":{{Entry($"{dtype}", "[65536]", $"[0,{data.Length}]")}}}""", data);
        using var f = SafeTensorsFile.Open(path);
        foreach (var pieceBytes in new[] { SafeTensorsFile.PieceBytes, 14 })
        {
            var read = f.ReadFloat32("x", pieceBytes).data<float>().ToArray();
            for (int b = 0; b < 1 << 16; b++)
            {
                uint expected = dtype == TensorDtype.BF16 ? (uint)b << 16 : BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf((ushort)b));
                Assert.True(expected == BitConverter.SingleToUInt32Bits(read[b]), $"{dtype} {b:X4}: {expected:X8} expected, {BitConverter.SingleToUInt32Bits(read[b]):X8} read");
            }
        }
    }

    [Fact]
    public void WriterArgumentsThatCannotBeWritten_AreRefused_LeavingThePreviousFile()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensorsWriter.Write(path, [("a", ones(1))], TensorDtype.F32);
        var before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [("a", ones(1)), ("a", ones(1))], TensorDtype.F32));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [("__metadata__", ones(1))], TensorDtype.F32));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [("a", ones(1)), ("ids", ones(1, dtype: int64))], TensorDtype.F32));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}
