using static TorchSharp.torch;

namespace MiniGpt.Formats;

/// <summary>The element types MiniGpt reads and writes in safetensors files, named as the format's header names them.</summary>
public enum TensorDtype { F32, F16, BF16 }

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

    // The other dtypes the format defines: a file holding one is refused as unsupported, not as damaged.
    static readonly HashSet<string> Unsupported =
        ["BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64", "C64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"];

    public static int Size(this TensorDtype d) => d == TensorDtype.F32 ? 4 : 2;

    public static ScalarType ScalarType(this TensorDtype d) => d switch
    {
        TensorDtype.F32 => float32,
        TensorDtype.F16 => float16,
        _ => bfloat16,
    };

    /// <summary>The dtype a header names, or what is wrong with the name. Not Enum.TryParse: it would take "f32" or "0".</summary>
    public static string? Parse(string name, out TensorDtype dtype)
    {
        dtype = TensorDtype.F32;
        switch (name)
        {
            case "F32": return null;
            case "F16": dtype = TensorDtype.F16; return null;
            case "BF16": dtype = TensorDtype.BF16; return null;
        }
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
