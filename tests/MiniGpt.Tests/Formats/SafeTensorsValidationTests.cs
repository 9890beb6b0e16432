using MiniGpt.Formats;
using MiniGpt.Tests.TestSupport;
using static MiniGpt.Tests.TestSupport.CraftedSafeTensors;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Formats;

/// <summary>Every file is untrusted: each problem is refused before anything is allocated, naming the file and what is wrong.</summary>
public class SafeTensorsValidationTests
{
    /// <summary>The error <paramref name="act"/> (by default, opening the file) raises: about the file, on one line.</summary>
    static SafeTensorsException Refused(string path, Action? act = null)
    {
        var ex = Assert.Throws<SafeTensorsException>(act ?? (() => SafeTensorsFile.Open(path).Dispose()));
        Assert.Equal(path, ex.Path);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        return ex;
    }

    public static TheoryData<string, int, string> CraftedHeaders() => new()
    {
        // header JSON, data bytes, what the message must say
        { """{"a":""", 0, "the header is not valid JSON: " },
        { "[1, 2]", 0, "the header is an array, not an object" },
        { """{"a":[1]}""", 0, "tensor 'a' is an array, not an object with dtype, shape and data_offsets" },
        { """{"a":{"shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'a' lacks \"dtype\"" },
        { """{"a":{"dtype":"F32","data_offsets":[0,4]}}""", 4, "tensor 'a' lacks \"shape\"" },
        { """{"a":{"dtype":"F32","shape":[1]}}""", 4, "tensor 'a' lacks \"data_offsets\"" },
        { """{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'a': dtype is a number, not a string" },
        { """{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}""", 4, "tensor 'a': shape is a string, not an array of integers" },
        { """{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4, "tensor 'a': shape holds 1.5, not a 64-bit integer" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", 4, "tensor 'a': data_offsets holds a string, not a 64-bit integer" },
        { """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}""", 4, "tensor 'a': data_offsets holds 99999999999999999999, not a 64-bit integer" },
        { """{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}""", 4, "tensor 'a' lists 'dtype' twice" },
        { $$"""{"a":{{Entry("F32", "[1]", "[0,4]")}},"a":{{Entry("F32", "[1]", "[4,8]")}}}""", 8, "the header lists 'a' twice" },
        { """{"__metadata__":"pt"}""", 0, "__metadata__ is a string, not an object of strings" },
        { """{"__metadata__":{"format":1}}""", 0, "__metadata__ 'format' is a number, not a string" },
        { """{"__metadata__":{"format":"pt","format":"np"}}""", 0, "__metadata__ lists 'format' twice" },
        { $$"""{"a":{{Entry("F4", "[2]", "[0,1]")}}}""", 1, "tensor 'a' has dtype F4, which MiniGpt does not read (supported: F32, F16, BF16)" },
        { $$"""{"a":{{Entry("I64", "[2]", "[0,8]")}}}""", 16, "tensor 'a' has shape [2] of I64 (16 bytes), but its data_offsets [0, 8] span 8 bytes" },
        { $$"""{"a":{{Entry("Q9", "[1]", "[0,4]")}}}""", 4, "tensor 'a' has unknown dtype 'Q9' (supported: F32, F16, BF16)" },
        { $$"""{"a":{{Entry("F32", "[2,-1]", "[0,0]")}}}""", 0, "tensor 'a' has a negative dimension in shape [2, -1]" },
        { $$"""{"a":{{Entry("F32", "[4294967296,4294967296]", "[0,4]")}}}""", 4, "tensor 'a' has shape [4294967296, 4294967296], whose element count overflows 64 bits" },
        { $$"""{"a":{{Entry("BF16", "[1000000,1000000]", "[0,2000000000000]")}}}""", 4, "tensor 'a' has shape [1000000, 1000000] of BF16, more bytes than the file's 4-byte data section holds" },
        { $$"""{"a":{{Entry("F32", "[1]", "[0,4,8]")}}}""", 4, "tensor 'a': data_offsets holds 3 numbers; it must be [begin, end]" },
        { $$"""{"a":{{Entry("F32", "[1]", "[-4,0]")}}}""", 4, "tensor 'a' has negative data_offsets [-4, 0]" },
        { $$"""{"a":{{Entry("F32", "[1]", "[8,4]")}}}""", 8, "tensor 'a' has data_offsets [8, 4]: begin is after end" },
        { $$"""{"a":{{Entry("F32", "[2]", "[0,4]")}}}""", 8, "tensor 'a' has shape [2] of F32 (8 bytes), but its data_offsets [0, 4] span 4 bytes" },
        { $$"""{"a":{{Entry("F32", "[1]", "[8,12]")}}}""", 8, "tensor 'a''s data_offsets [8, 12] run past the end of the 8-byte data section: the file is truncated" },
        { $$"""{"a":{{Entry("F32", "[2]", "[0,8]")}},"b":{{Entry("F32", "[2]", "[4,12]")}}}""", 12, "tensor 'b' at data_offsets [4, 12] overlaps tensor 'a' at [0, 8]" },
        { $$"""{"b":{{Entry("F32", "[1]", "[8,12]")}},"a":{{Entry("F32", "[1]", "[0,4]")}}}""", 12, "a gap in the data: tensor 'b' at data_offsets [8, 12] starts at byte 8, but tensor 'a' ends at 4" },
        { $$"""{"a":{{Entry("F32", "[1]", "[4,8]")}}}""", 8, "a gap in the data: tensor 'a' at data_offsets [4, 8] starts at byte 4, but no tensor starts at 0" },
        { $$"""{"a":{{Entry("F32", "[1]", "[0,4]")}}}""", 8, "the tensors' data ends at byte 4 of the data section, but the file has 4 bytes after it" },
        { $$"""{"a\nb":{{Entry("Q9", "[1]", "[0,8]")}}}""", 8, "tensor \"a\\nb\" has unknown dtype" },
    };

    [Theory]
    [MemberData(nameof(CraftedHeaders))]
    public void ACraftedHeader_IsRefused_NamingTheFileAndTheProblem(string json, int dataBytes, string problem)
    {
        using var dir = new TempDir();
        var ex = Refused(CraftedSafeTensors.Write(dir, json, new byte[dataBytes]));
        Assert.Contains(problem, ex.Message);
    }

    [Theory]
    [InlineData(0, "the file is 0 bytes (an empty file, or a pipe or device): it is truncated or not a safetensors file")]
    [InlineData(7, "the file is 7 bytes, too short to hold the 8-byte header length")]
    public void AFileShorterThanTheHeaderLength_IsRefusedAsTruncated(int length, string problem)
    {
        using var dir = new TempDir();
        var path = dir.File("short.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        Assert.Contains(problem, Refused(path).Message);
    }

    [Fact]
    public void APipe_IsRefusedUnopened()
    {
        // Opening a FIFO waits for a writer: an import hung for ever.
        using var dir = new TempDir();
        var path = Fifo.Make(dir.File("model.safetensors"));
        Assert.Contains("the file is 0 bytes (an empty file, or a pipe or device)", Fifo.Within(path, () => Refused(path)).Message);
    }

    [Theory]
    [InlineData(0ul, "the header length is 0")]
    [InlineData(100_000_001ul, "the header length 100000001 is over the 100000000-byte limit")]
    [InlineData(ulong.MaxValue, "the header length 18446744073709551615 is over the 100000000-byte limit")]
    [InlineData(3ul, "the header length 3 runs past the end of the 10-byte file: it is truncated")]
    public void AnImpossibleHeaderLength_IsRefused(ulong headerLength, string problem)
    {
        using var dir = new TempDir();
        Assert.Contains(problem, Refused(CraftedSafeTensors.WriteBytes(dir, "{}"u8.ToArray(), [], headerLength)).Message);
    }

    [Fact]
    public void AHeaderThatIsNotUtf8_IsRefused()
    {
        using var dir = new TempDir();
        Assert.Contains("the header is not valid UTF-8", Refused(CraftedSafeTensors.WriteBytes(dir, [.. "{\"a"u8, 0xFF, .. "\":null}"u8], [])).Message);
    }

    [Fact]
    public void AFileCutShort_IsRefusedAsTruncated()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensorsWriter.Write(path, [("a", ones(4)), ("b", ones(4))], TensorDtype.F32);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^2]);
        Assert.Contains("tensor 'b''s data_offsets [16, 32] run past the end of the 30-byte data section: the file is truncated", Refused(path).Message);
    }

    [Fact]
    public void ReadingATensorItDoesNotHave_NamesTheTensorAndTheFile()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensorsWriter.Write(path, [("a", ones(1))], TensorDtype.F32);
        using var f = SafeTensorsFile.Open(path);
        Assert.False(f.Contains("wte.weight"));
        Assert.Contains("there is no tensor 'wte.weight' among its 1 tensors", Refused(path, () => f.ReadFloat32("wte.weight")).Message);
        Assert.Contains("there is no tensor 'wte.weight'", Refused(path, () => _ = f["wte.weight"]).Message);
    }

    [Fact]
    public void OtherDtypes_AreLaidOutAndSkipped_ButNotRead()
    {
        // GPT-2 files may hold mask buffers of other dtypes: their bytes must tile the file like any tensor's.
        using var dir = new TempDir();
        var path = CraftedSafeTensors.Write(dir, $$"""{"mask":{{Entry("BOOL", "[3]", "[0,3]")}},"n":{{Entry("I64", "[1]", "[3,11]")}},"w":{{Entry("F32", "[1]", "[11,15]")}}}""",
            [1, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3F]);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([TensorDtype.BOOL, TensorDtype.I64, TensorDtype.F32], f.Tensors.Select(t => t.Dtype));
        using (var w = f.ReadFloat32("w")) Assert.Equal(1f, w.item<float>());
        Assert.Contains("tensor 'n' has dtype I64, which MiniGpt does not read (supported: F32, F16, BF16)", Refused(path, () => f.ReadFloat32("n")).Message);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(Path.Combine(dir.Path, "x.safetensors"), [("a", ones(1))], TensorDtype.I64));
    }

    [Theory]
    [InlineData(-100, "the file changed size since it was opened (4072 bytes, now 3972): it is being rewritten or was truncated")]
    [InlineData(+100, "the file changed size since it was opened (4072 bytes, now 4172)")]
    public void AFileThatChangedSizeAfterItWasOpened_IsAnError_NotGarbage(int change, string problem)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensorsWriter.Write(path, [("a", ones(1000))], TensorDtype.F32);
        using var f = SafeTensorsFile.Open(path);
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) s.SetLength(s.Length + change);
        Assert.Contains(problem, Refused(path, () => f.ReadFloat32("a")).Message);
    }

    [Fact]
    public void AMissingFile_IsADataError()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "none.safetensors");
        Assert.Contains("no such file", Refused(path).Message);
    }
}
