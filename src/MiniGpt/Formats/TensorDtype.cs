using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>
/// The element types of safetensors files, named as the format's header names them. MiniGpt reads and writes the
/// floating-point F32, F16 and BF16; a file may hold others (GPT-2's mask buffers, say) that it lays out and skips.
/// </summary>
public enum TensorDtype { F32, F16, BF16, F64, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2, F8_E8M0, C64 }

/// <summary>One tensor of a safetensors file, as its header describes it.</summary>
/// <param name="Begin">Where its bytes start, counted from the start of the data section (not of the file).</param>
/// <param name="End">Where its bytes end (exclusive), counted the same way; equal to <paramref name="Begin"/> for an empty tensor.</param>
public sealed record SafeTensorInfo(string Name, TensorDtype Dtype, long[] Shape, long Begin, long End);

/// <summary>A safetensors file that cannot be used; the message is "{path}: {problem}", on one line.</summary>
public sealed class SafeTensorsException(string path, string problem) : DataException(path, $"{path}: {problem}");

/// <summary>Sizes, libtorch types and header names of <see cref="TensorDtype"/>.</summary>
static class TensorDtypes
{
    public const string Supported = "F32, F16, BF16";

    // Dtypes of fewer than 8 bits: no whole-byte size to lay out, so a file holding one is refused.
    static readonly HashSet<string> Unsupported = ["F4", "F6_E2M3", "F6_E3M2"];

    /// <summary>Whether MiniGpt reads and writes values of this dtype (F32, F16, BF16).</summary>
    public static bool IsFloat(this TensorDtype d) => d is TensorDtype.F32 or TensorDtype.F16 or TensorDtype.BF16;

    public static int Size(this TensorDtype d) => d switch
    {
        TensorDtype.F32 or TensorDtype.I32 or TensorDtype.U32 => 4,
        TensorDtype.F16 or TensorDtype.BF16 or TensorDtype.I16 or TensorDtype.U16 => 2,
        TensorDtype.F64 or TensorDtype.I64 or TensorDtype.U64 or TensorDtype.C64 => 8,
        _ => 1,
    };

    /// <summary>Why a tensor of this dtype cannot be read, or null.</summary>
    public static string? NotRead(this TensorDtype d) => d.IsFloat() ? null : $"dtype {d}, which MiniGpt does not read (supported: {Supported})";

    public static ScalarType ScalarType(this TensorDtype d) => d switch
    {
        TensorDtype.F32 => float32,
        TensorDtype.F16 => float16,
        TensorDtype.BF16 => bfloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "not a dtype MiniGpt reads"),
    };

    /// <summary>The dtype a header names, or what is wrong with the name. Not Enum.TryParse: it would take "f32" or "0".</summary>
    public static string? Parse(string name, out TensorDtype dtype)
    {
        dtype = TensorDtype.F32;
        foreach (var d in Enum.GetValues<TensorDtype>())
            if (d.ToString() == name) { dtype = d; return null; }
        return Unsupported.Contains(name)
            ? $"dtype {name}, which MiniGpt does not read (supported: {Supported})"
            : $"unknown dtype {Text.Show(name)} (supported: {Supported})";
    }
}

/// <summary>How messages show text taken from a file.</summary>
static class Text
{
    /// <summary>Quoted; JSON-escaped when it holds control characters, so that a message stays on one line.</summary>
    public static string Show(string s) => s.Any(char.IsControl) ? System.Text.Json.JsonSerializer.Serialize(s) : $"'{s}'";

    public static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";
}
