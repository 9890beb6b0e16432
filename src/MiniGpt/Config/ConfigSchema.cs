using System.Reflection;
using System.Text.Json;

namespace MiniGpt.Config;

/// <summary>
/// A rule that relates <paramref name="Key"/> to the keys it <paramref name="Uses"/>, reported against
/// <paramref name="Key"/>; checked once each of those keys is valid alone (a rule may divide by one of them).
/// </summary>
/// <param name="Help">The rule in words for help, without the values ("≤ learning_rate while decay_lr"): help listed each key's own range alone.</param>
public sealed record CrossKeyRule<T>(string Key, string[] Uses, Func<T, bool> Holds, Func<T, string> Rule, string Help);

/// <summary>
/// Everything that follows from a config record's <see cref="KeyAttribute"/> declarations: binding from JSON
/// and from string overrides, validation, JSON for checkpoints, and the comparison of two configs. Every
/// problem names its key and value, in one format (<see cref="ConfigProblem"/>).
/// </summary>
public sealed class ConfigSchema<T> where T : class, new()
{
    readonly Dictionary<string, ConfigKey> byName;
    readonly IReadOnlyList<CrossKeyRule<T>> rules;

    /// <summary>The rules between keys, each with its words for help.</summary>
    public IReadOnlyList<CrossKeyRule<T>> Rules => rules;

    public ConfigSchema(params CrossKeyRule<T>[] rules)
    {
        var defaults = new T();
        Keys = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<KeyAttribute>() is not null)
            .OrderBy(p => p.MetadataToken)   // declaration order
            .Select(p => new ConfigKey(p, p.GetCustomAttribute<KeyAttribute>()!, p.GetValue(defaults)))
            .ToList();
        byName = Keys.ToDictionary(k => k.Name);
        foreach (var name in rules.SelectMany(r => r.Uses.Append(r.Key)))
            if (!byName.ContainsKey(name)) throw new ArgumentException($"a rule names unknown key {name}");
        this.rules = rules;
    }

    public IReadOnlyList<ConfigKey> Keys { get; }

    public ConfigKey this[string name] => byName[name];

    /// <summary>A JSON config file (or the defaults, without one) with overrides on top, validated.</summary>
    public T Load(string? path, IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        if (path is null) return Bind(null, overrides, null);
        if (!File.Exists(path)) throw new DataException(path, $"config file {path} not found");
        var text = IO.TextFile.Read(path, MaxConfigChars, "a config");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new ConfigException([new ConfigProblem(null, null, $"not valid JSON: {e.Message}", path)]); }
        using (doc) return Bind(doc.RootElement, overrides, path);
    }

    /// <summary>The longest config file read: 1 MB of text.</summary>
    public const int MaxConfigChars = 1 << 20;

    /// <summary>A config stored as JSON (in a checkpoint), validated like a config file.</summary>
    public T FromJson(JsonElement json, string source) => Bind(json, [], source);

    /// <summary>Defaults, then the JSON object's keys, then the overrides; then validation. Throws with every problem.</summary>
    /// <param name="source">Where the JSON came from; problems with its values name it, those with overrides do not.</param>
    public T Bind(JsonElement? json, IReadOnlyList<KeyValuePair<string, string>> overrides, string? source)
    {
        var problems = new List<ConfigProblem>();
        var values = new Dictionary<ConfigKey, object?>();
        if (json is { } root)
        {
            if (root.ValueKind != JsonValueKind.Object) throw new ConfigException([new ConfigProblem(null, null, "the top level must be a JSON object", source)]);
            var seen = new HashSet<string>();
            foreach (var prop in root.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) problems.Add(new(prop.Name, null, "given twice", source));
                else if (Find(prop.Name, problems, source) is { } key)
                {
                    if (key.TryRead(prop.Value, out var v)) values[key] = v;
                    else problems.Add(new(key.Name, Shown(prop.Value), key.Unreadable(prop.Value.ValueKind == JsonValueKind.Number ? prop.Value.GetRawText() : ""), source));
                }
            }
        }
        var overridden = new HashSet<string>();
        foreach (var (name, text) in overrides)
        {
            if (!overridden.Add(name)) problems.Add(new(name, null, "given twice on the command line"));
            else if (Find(name, problems, null) is { } key)
            {
                if (key.TryParse(text, out var v)) values[key] = v;
                else problems.Add(new(key.Name, $"'{text}'", key.Unreadable(text)));
            }
        }
        if (problems.Count > 0) throw new ConfigException(problems);

        var config = new T();
        foreach (var (key, value) in values) key.Set(config, value);
        var bad = Problems(config);
        // A problem names the file only when every value it involves came from there.
        bool FromFile(string key) => !overridden.Contains(key) && !rules.Any(r => r.Key == key && r.Uses.Any(overridden.Contains));
        if (bad.Count > 0) throw new ConfigException(bad.Select(p => p with { Origin = FromFile(p.Key!) ? source : null }).ToList());
        return config;
    }

    /// <summary>A JSON value as problems show it: strings in the same quotes as other values, the rest as written.</summary>
    static string Shown(JsonElement e) => e.ValueKind == JsonValueKind.String ? ConfigProblem.Show(e.GetString()) : e.GetRawText();

    /// <summary>Every problem with a config's values, each naming its key and value; empty when valid.</summary>
    public IReadOnlyList<ConfigProblem> Problems(T config)
    {
        var problems = new List<ConfigProblem>();
        foreach (var key in Keys)
        {
            var value = key.Get(config);
            if (key.Check(value) is { } rule) problems.Add(new(key.Name, ConfigProblem.Show(value), rule));
        }
        var invalid = problems.Select(p => p.Key).ToHashSet();
        foreach (var r in rules.Where(r => !invalid.Contains(r.Key) && !r.Uses.Any(invalid.Contains)))
            if (!r.Holds(config)) problems.Add(new(r.Key, ConfigProblem.Show(byName[r.Key].Get(config)), r.Rule(config)));
        return problems;
    }

    /// <summary>The config itself when valid; otherwise throws with every problem.</summary>
    public T Validated(T config)
    {
        var problems = Problems(config);
        return problems.Count == 0 ? config : throw new ConfigException(problems);
    }

    /// <summary>The config as a JSON object of every key, as a config file would give it.</summary>
    public string ToJson(T config)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            foreach (var key in Keys) key.Write(w, key.Get(config));
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The keys selected by <paramref name="which"/> whose values differ between two configs.</summary>
    public IReadOnlyList<(ConfigKey Key, object? A, object? B)> Differences(T a, T b, Func<ConfigKey, bool> which)
        => Keys.Where(which).Select(k => (k, k.Get(a), k.Get(b))).Where(d => !Equals(d.Item2, d.Item3)).ToList();

    /// <summary>A copy of <paramref name="into"/> with the keys selected by <paramref name="which"/> taken from <paramref name="from"/>.</summary>
    public T CopyKeys(T from, T into, Func<ConfigKey, bool> which)
    {
        var config = new T();
        foreach (var key in Keys) key.Set(config, key.Get(which(key) ? from : into));
        return config;
    }

    ConfigKey? Find(string name, List<ConfigProblem> problems, string? origin)
    {
        if (byName.TryGetValue(name, out var key)) return key;
        // Only a key within 3 letters of its length can be within 3 edits; the rest are not compared (a key can be megabytes).
        var near = Keys.Where(k => Math.Abs(k.Name.Length - name.Length) <= 3).MinBy(k => Distance(k.Name, name))?.Name;
        problems.Add(new(ConfigProblem.Name(name), null, "unknown key" + (near is not null && Distance(near, name) <= 3 ? $" (did you mean '{near}'?)" : ""), origin));
        return null;
    }

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
}
