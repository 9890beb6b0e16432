using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace MiniGpt.Training;

/// <summary>A config that cannot be used; the message lists every problem, each naming its key.</summary>
public sealed class ConfigException(IReadOnlyList<string> problems, string? source = null)
    : Exception((source is null ? "invalid config" : $"invalid config {source}") + ":\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Binds a <see cref="TrainConfig"/> from a JSON object of snake_case keys and then string overrides
/// (<c>--max_iters 200</c> on the command line). Unknown keys, values of the wrong type and bad values are
/// errors that name the key and the value.
/// </summary>
public static class TrainConfigBinder
{
    static readonly Dictionary<string, PropertyInfo> Properties = typeof(TrainConfig)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is not null)
        .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));

    public static IReadOnlyCollection<string> Keys => Properties.Keys;

    public static TrainConfig Load(string? jsonPath, IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        var problems = new List<string>();
        var values = new Dictionary<string, object?>();
        if (jsonPath is not null)
        {
            if (!File.Exists(jsonPath)) throw new FileNotFoundException($"config file {jsonPath} not found", jsonPath);
            JsonDocument doc;
            try { doc = JsonDocument.Parse(File.ReadAllText(jsonPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
            catch (JsonException e) { throw new ConfigException([$"not valid JSON: {e.Message}"], jsonPath); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException(["the top level must be a JSON object"], jsonPath);
                foreach (var prop in doc.RootElement.EnumerateObject())
                    if (Find(prop.Name, problems) is { } pi && FromJson(prop.Name, prop.Value, pi.PropertyType, problems, out var v)) values[prop.Name] = v;
            }
        }
        foreach (var (key, text) in overrides)
            if (Find(key, problems) is { } pi && FromString(key, text, pi.PropertyType, problems, out var v)) values[key] = v;
        if (problems.Count > 0) throw new ConfigException(problems, jsonPath);

        var config = new TrainConfig();
        // init-only properties can be set by reflection on a fresh instance; records copy with 'with' elsewhere.
        foreach (var (key, value) in values) Properties[key].SetValue(config, value);
        var bad = config.Problems();
        if (bad.Count > 0) throw new ConfigException(bad, jsonPath);
        return config;
    }

    static PropertyInfo? Find(string key, List<string> problems)
    {
        if (Properties.TryGetValue(key, out var p)) return p;
        var near = Properties.Keys.OrderBy(k => Distance(k, key)).First();
        problems.Add($"unknown key '{key}'" + (Distance(near, key) <= 3 ? $" (did you mean '{near}'?)" : ""));
        return null;
    }

    static bool FromJson(string key, JsonElement e, Type type, List<string> problems, out object? value)
    {
        value = null;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        bool ok = e.ValueKind switch
        {
            JsonValueKind.Null when type == typeof(string) || Nullable.GetUnderlyingType(type) is not null => true,
            JsonValueKind.Number when t == typeof(int) && e.TryGetInt32(out var i) => Set(i, out value),
            JsonValueKind.Number when t == typeof(long) && e.TryGetInt64(out var l) => Set(l, out value),
            JsonValueKind.Number when t == typeof(double) => Set(e.GetDouble(), out value),
            JsonValueKind.True or JsonValueKind.False when t == typeof(bool) => Set(e.GetBoolean(), out value),
            JsonValueKind.String when t == typeof(string) => Set(e.GetString(), out value),
            _ => false,
        };
        if (!ok) problems.Add($"{key} = {e.GetRawText()}: expected {Describe(t)}");
        return ok;
    }

    static bool FromString(string key, string text, Type type, List<string> problems, out object? value)
    {
        value = null;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var inv = CultureInfo.InvariantCulture;
        bool ok = t == typeof(string) ? Set(text, out value)
            : t == typeof(int) && int.TryParse(text, NumberStyles.Integer, inv, out var i) ? Set(i, out value)
            : t == typeof(long) && long.TryParse(text, NumberStyles.Integer, inv, out var l) ? Set(l, out value)
            : t == typeof(double) && double.TryParse(text, NumberStyles.Float, inv, out var d) ? Set(d, out value)
            : t == typeof(bool) && bool.TryParse(text, out var b) ? Set(b, out value)
            : false;
        if (!ok) problems.Add($"{key} = '{text}': expected {Describe(t)}");
        return ok;
    }

    static bool Set(object? v, out object? value) { value = v; return true; }

    static string Describe(Type t) => t == typeof(int) || t == typeof(long) ? "an integer"
        : t == typeof(double) ? "a number" : t == typeof(bool) ? "true or false" : "a string";

    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>The config as a JSON object with the same snake_case keys, for checkpoints and logs.</summary>
    public static string ToJson(TrainConfig c) => JsonSerializer.Serialize(c, Json);

    public static TrainConfig FromJson(string json) => JsonSerializer.Deserialize<TrainConfig>(json, Json)
        ?? throw new InvalidDataException("config JSON is null");

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        IgnoreReadOnlyProperties = true,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };
}
