using System.Text.Json;
using System.Text.Unicode;

namespace MiniGpt.Formats;

/// <summary>
/// Reads a safetensors header and checks everything a reader relies on before it allocates a tensor: the JSON's
/// shape, each tensor's dtype, shape and offsets (with overflow-safe arithmetic), and that the tensors tile the
/// data section exactly, from its first byte to the end of the file, with no gap and no overlap.
/// </summary>
static class SafeTensorsHeader
{
    /// <summary>The reference implementation's cap: a larger length is damage or another format, not a header.</summary>
    public const long MaxBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    /// <returns>The metadata, and the tensors sorted by where their bytes start.</returns>
    /// <param name="dataLength">The data section's length: the file's, less the 8-byte length and the header.</param>
    public static (Dictionary<string, string> Metadata, List<SafeTensorInfo> Tensors) Parse(string path, byte[] json, long dataLength)
    {
        SafeTensorsException Bad(string problem) => new(path, problem);
        // Checked first: the JSON reader does not promise to reject invalid UTF-8 inside strings it is not asked to decode.
        if (!Utf8.IsValid(json)) throw Bad("the header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw Bad($"the header is not valid JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad($"the header is {Kind(doc.RootElement)}, not an object");

        var metadata = new Dictionary<string, string>();
        var tensors = new List<SafeTensorInfo>();
        var names = new HashSet<string>();
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            // JsonDocument keeps both copies of a repeated key; which one a reader sees would be a guess.
            if (!names.Add(entry.Name)) throw Bad($"the header lists {Text.Show(entry.Name)} twice");
            if (entry.Name == MetadataKey) ReadMetadata(entry.Value, metadata, Bad);
            else tensors.Add(ReadTensor(entry.Name, entry.Value, dataLength, Bad));
        }
        tensors = [.. tensors.OrderBy(t => t.Begin).ThenBy(t => t.End)];
        CheckLayout(tensors, dataLength, Bad);
        return (metadata, tensors);
    }

    static void ReadMetadata(JsonElement e, Dictionary<string, string> metadata, Func<string, SafeTensorsException> bad)
    {
        if (e.ValueKind == JsonValueKind.Null) return;      // the reference reader takes null as "no metadata"
        if (e.ValueKind != JsonValueKind.Object) throw bad($"{MetadataKey} is {Kind(e)}, not an object of strings");
        foreach (var p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw bad($"{MetadataKey} {Text.Show(p.Name)} is {Kind(p.Value)}, not a string");
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!)) throw bad($"{MetadataKey} lists {Text.Show(p.Name)} twice");
        }
    }

    static SafeTensorInfo ReadTensor(string name, JsonElement e, long dataLength, Func<string, SafeTensorsException> bad)
    {
        var t = $"tensor {Text.Show(name)}";
        if (e.ValueKind != JsonValueKind.Object) throw bad($"{t} is {Kind(e)}, not an object with dtype, shape and data_offsets");
        var fields = new Dictionary<string, JsonElement>();
        foreach (var p in e.EnumerateObject())
            if (!fields.TryAdd(p.Name, p.Value)) throw bad($"{t} lists {Text.Show(p.Name)} twice");
        JsonElement Field(string key) => fields.TryGetValue(key, out var v) ? v : throw bad($"{t} lacks \"{key}\"");

        var dtypeName = Field("dtype");
        if (dtypeName.ValueKind != JsonValueKind.String) throw bad($"{t}: dtype is {Kind(dtypeName)}, not a string");
        if (TensorDtypes.Parse(dtypeName.GetString()!, out var dtype) is { } dtypeProblem) throw bad($"{t} has {dtypeProblem}");

        var shape = Integers(Field("shape"), $"{t}: shape", bad);
        if (shape.Any(d => d < 0)) throw bad($"{t} has a negative dimension in shape {Text.Shape(shape)}");
        var offsets = Integers(Field("data_offsets"), $"{t}: data_offsets", bad);
        if (offsets.Length != 2) throw bad($"{t}: data_offsets holds {offsets.Length} numbers; it must be [begin, end]");
        var (begin, end) = (offsets[0], offsets[1]);
        var at = $"data_offsets [{begin}, {end}]";
        if (begin < 0 || end < 0) throw bad($"{t} has negative {at}");
        if (begin > end) throw bad($"{t} has {at}: begin is after end");

        // An element count that overflows, or bytes the file cannot hold, must stop here: the caller would allocate them.
        long count = shape.Contains(0) ? 0 : 1;
        foreach (var d in shape)
            if (count > 0 && count > long.MaxValue / d) throw bad($"{t} has shape {Text.Shape(shape)}, whose element count overflows 64 bits");
            else count *= d;
        var kind = $"{t} has shape {Text.Shape(shape)} of {dtype}";
        if (count > dataLength / dtype.Size()) throw bad($"{kind}, more bytes than the file's {dataLength}-byte data section holds: the file is truncated or the header wrong");
        long bytes = count * dtype.Size();
        if (bytes != end - begin) throw bad($"{kind} ({bytes} bytes), but its {at} span {end - begin} bytes");
        if (end > dataLength) throw bad($"{t}'s {at} run past the end of the {dataLength}-byte data section: the file is truncated");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>The integers of a JSON array, or an error that names <paramref name="what"/>.</summary>
    static long[] Integers(JsonElement e, string what, Func<string, SafeTensorsException> bad)
    {
        if (e.ValueKind != JsonValueKind.Array) throw bad($"{what} is {Kind(e)}, not an array of integers");
        var values = new long[e.GetArrayLength()];
        int i = 0;
        foreach (var v in e.EnumerateArray())
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out values[i++]))
                throw bad($"{what} holds {(v.ValueKind == JsonValueKind.Number ? v.GetRawText() : Kind(v))}, not a 64-bit integer");
        return values;
    }

    /// <summary>Each tensor starts where the one before it ends, the first at 0, and the last ends where the file does.</summary>
    static void CheckLayout(List<SafeTensorInfo> sorted, long dataLength, Func<string, SafeTensorsException> bad)
    {
        long expected = 0;
        SafeTensorInfo? previous = null;
        foreach (var x in sorted)
        {
            var here = $"tensor {Text.Show(x.Name)} at data_offsets [{x.Begin}, {x.End}]";
            if (x.Begin < expected)
                throw bad($"{here} overlaps tensor {Text.Show(previous!.Name)} at [{previous.Begin}, {previous.End}]");
            if (x.Begin > expected)
                throw bad($"a gap in the data: {here} starts at byte {x.Begin}, but " +
                          (previous is null ? "no tensor starts at 0" : $"tensor {Text.Show(previous.Name)} ends at {expected}"));
            (expected, previous) = (x.End, x);
        }
        if (expected != dataLength)
            throw bad($"the tensors' data ends at byte {expected} of the data section, but the file has {dataLength - expected} bytes after it");
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
