using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace MiniGpt.Config;

/// <summary>One config key as its property declares it: name, type, default, rule and description.</summary>
public sealed class ConfigKey
{
    readonly PropertyInfo property;
    readonly KeyAttribute declared;

    internal ConfigKey(PropertyInfo property, KeyAttribute declared, object? defaultValue)
    {
        this.property = property;
        this.declared = declared;
        Name = JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
        Type = System.Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        Nullable = new NullabilityInfoContext().Create(property).WriteState == NullabilityState.Nullable;
        Default = defaultValue;
        if (Type != typeof(int) && Type != typeof(long) && Type != typeof(double) && Type != typeof(bool) && Type != typeof(string) && !Type.IsEnum)
            throw new NotSupportedException($"config key {Name} has type {Type.Name}; keys are integers, numbers, booleans, strings or enums");
    }

    public string Name { get; }
    public Type Type { get; }
    public bool Nullable { get; }
    public object? Default { get; }
    public string Description => declared.Description;
    public KeyGroup Group => declared.Group;
    public bool Architecture => declared.Architecture;

    bool IsNumber => Type == typeof(int) || Type == typeof(long) || Type == typeof(double);

    /// <summary>What a value must be, for messages: "an integer", "a number", "auto, cpu or cuda"…</summary>
    public string Expected => (Type.IsEnum ? "one of " + Choices.List(Type)
        : Type == typeof(int) || Type == typeof(long) ? "an integer"
        : Type == typeof(double) ? "a number"
        : Type == typeof(bool) ? "true or false"
        : "a string") + (Nullable && Type != typeof(string) ? ", or none" : "");

    /// <summary>The range a number must lie in ("≥ 1", "in [0, 1)"), or null.</summary>
    public string? Range
    {
        get
        {
            var a = declared;
            bool lo = !double.IsNaN(a.Min), hi = !double.IsNaN(a.Max);
            if (lo && hi) return $"in {(a.MinExclusive ? "(" : "[")}{ConfigProblem.Format(a.Min)}, {ConfigProblem.Format(a.Max)}{(a.MaxExclusive ? ")" : "]")}";
            if (lo) return (a.MinExclusive ? "> " : "≥ ") + ConfigProblem.Format(a.Min);
            if (hi) return (a.MaxExclusive ? "< " : "≤ ") + ConfigProblem.Format(a.Max);
            return null;
        }
    }

    /// <summary>The values it takes, for help: "integer ≥ 1", "number in [0, 1)", "learned | sinusoidal | rotary"…</summary>
    public string Values => Type.IsEnum ? string.Join(" | ", Choices.Names(Type))
        : Type == typeof(bool) ? "true | false"
        : (Type == typeof(double) ? "number" : Type == typeof(string) ? "text" : "integer") + (Range is { } r ? " " + r : "");

    internal object? Get(object config) => property.GetValue(config);

    // Init-only setters can be called by reflection on an instance that nobody else has seen yet.
    internal void Set(object config, object? value) => property.SetValue(config, value);

    /// <summary>What is wrong with a value of the right type, or null.</summary>
    internal string? Check(object? value)
    {
        if (value is null) return Nullable ? null : "must be given";
        if (value is double d && !double.IsFinite(d)) return "must be a finite number";
        if (value is Enum e && !Enum.IsDefined(Type, e)) return "must be one of " + Choices.List(Type);
        if (value is string s && declared.NotEmpty && string.IsNullOrWhiteSpace(s)) return "must not be empty";
        if (value is string t && t.Contains('\0')) return "must not hold a NUL character (no path or field name can)";
        if (IsNumber && Range is { } range)
        {
            double x = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            var a = declared;
            bool ok = (double.IsNaN(a.Min) || (a.MinExclusive ? x > a.Min : x >= a.Min))
                   && (double.IsNaN(a.Max) || (a.MaxExclusive ? x < a.Max : x <= a.Max));
            if (!ok) return "must be " + range;
        }
        return null;
    }

    /// <summary>
    /// Why a value this key could not read is wrong: for an integer key given a whole number too large for its type,
    /// the range it breaks ("expected an integer" said it was not one); else what the key expects.
    /// </summary>
    internal string Unreadable(string text)
    {
        if ((Type != typeof(int) && Type != typeof(long)) || !System.Numerics.BigInteger.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
            return "expected " + Expected;
        var a = declared;
        if (!double.IsNaN(a.Max)) return "must be " + Range;
        string lo = !double.IsNaN(a.Min) ? (a.MinExclusive ? "(" : "[") + ConfigProblem.Format(a.Min) : Type == typeof(int) ? $"[{int.MinValue}" : $"[{long.MinValue}";
        return $"must be in {lo}, {(Type == typeof(int) ? int.MaxValue : long.MaxValue)}]";
    }

    /// <summary>A JSON value of this key's type, or false.</summary>
    internal bool TryRead(JsonElement e, out object? value)
    {
        value = null;
        return e.ValueKind switch
        {
            JsonValueKind.Null => Nullable,
            JsonValueKind.Number when Type == typeof(int) && e.TryGetInt32(out var i) => Box(i, out value),
            JsonValueKind.Number when Type == typeof(long) && e.TryGetInt64(out var l) => Box(l, out value),
            JsonValueKind.Number when Type == typeof(double) && e.TryGetDouble(out var d) => Box(d, out value),
            JsonValueKind.True or JsonValueKind.False when Type == typeof(bool) => Box(e.GetBoolean(), out value),
            JsonValueKind.String when Type == typeof(string) => Box(e.GetString(), out value),
            JsonValueKind.String when Type.IsEnum && Choices.TryParse(Type, e.GetString()!, out var c) => Box(c, out value),
            _ => false,
        };
    }

    /// <summary>A command-line value of this key's type, or false.</summary>
    internal bool TryParse(string text, out object? value)
    {
        value = null;
        var inv = CultureInfo.InvariantCulture;
        // A key that may be null is set back to it as configs spell it (val_documents none); a text stays a text.
        if (Nullable && Type != typeof(string) && text is "none" or "null") return true;
        return Type == typeof(string) ? Box(text, out value)
            : Type == typeof(int) && int.TryParse(text, NumberStyles.Integer, inv, out var i) ? Box(i, out value)
            : Type == typeof(long) && long.TryParse(text, NumberStyles.Integer, inv, out var l) ? Box(l, out value)
            : Type == typeof(double) && double.TryParse(text, NumberStyles.Float, inv, out var d) ? Box(d, out value)
            : Type == typeof(bool) && bool.TryParse(text, out var b) ? Box(b, out value)
            : Type.IsEnum && Choices.TryParse(Type, text, out var c) && Box(c, out value);
    }

    internal void Write(Utf8JsonWriter w, object? value)
    {
        w.WritePropertyName(Name);
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case double d: w.WriteNumberValue(d); break;
            case bool b: w.WriteBooleanValue(b); break;
            case Enum e: w.WriteStringValue(Choices.Name(e)); break;
            default: w.WriteStringValue((string)value); break;
        }
    }

    static bool Box(object? v, out object? value)
    {
        value = v;
        return true;
    }
}
