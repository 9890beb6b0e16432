using System.Text.Json;
using MiniGpt.Config;

namespace MiniGpt.Tests.Config;

public class ConfigSchemaTests
{
    public enum Shape { Round, [System.Text.Json.Serialization.JsonStringEnumMemberName("very_square")] Square }

    public sealed record Toy
    {
        public static readonly ConfigSchema<Toy> Schema = new(new CrossKeyRule<Toy>("low", ["high"], t => t.Low < t.High, t => $"must be below high ({t.High})", "< high"));

        [Key("inclusive above", Min = 1)] public int Low { get; init; } = 1;
        [Key("exclusive both", Min = 0, MinExclusive = true, Max = 10, MaxExclusive = true)] public double High { get; init; } = 5;
        [Key("inclusive both", Min = -1, Max = 1)] public long Unit { get; init; }
        [Key("below only", Max = 3, MaxExclusive = true)] public double Small { get; init; }
        [Key("may be null")] public string? Note { get; init; } = "n";
        [Key("may not be empty", NotEmpty = true)] public string Name { get; init; } = "toy";
        [Key("a choice")] public Shape Shape { get; init; }
        public int NotAKey { get; init; } = 7;
    }

    static Toy Bind(string json, params (string, string)[] overrides)
    {
        using var doc = JsonDocument.Parse(json);
        return Toy.Schema.Bind(doc.RootElement, overrides.Select(o => new KeyValuePair<string, string>(o.Item1, o.Item2)).ToList(), "toy.json");
    }

    static List<string> Problems(string json, params (string, string)[] overrides)
        => Assert.Throws<ConfigException>(() => Bind(json, overrides)).Problems.Select(p => p.Setting).ToList();

    [Fact]
    public void Keys_AreTheAttributedProperties_InDeclarationOrder_WithTheirDefaults()
    {
        Assert.Equal(["low", "high", "unit", "small", "note", "name", "shape"], Toy.Schema.Keys.Select(k => k.Name));
        Assert.Equal([1, 5.0, 0L, 0.0, "n", "toy", Shape.Round], Toy.Schema.Keys.Select(k => k.Default));
    }

    [Fact]
    public void Values_DescribeTypeAndRange()
        => Assert.Equal(["integer ≥ 1", "number in (0, 10)", "integer in [-1, 1]", "number < 3", "text", "text", "round | very_square"],
            Toy.Schema.Keys.Select(k => k.Values));

    [Fact]
    public void RangeBounds_AreInclusiveOrExclusive_AsDeclared()
    {
        Assert.Equal(1, Bind("""{ "low": 1, "high": 9.99 }""").Low);
        Assert.Equal(["low = 0: must be ≥ 1", "high = 10: must be in (0, 10)", "unit = 2: must be in [-1, 1]", "small = 3: must be < 3"],
            Problems("""{ "low": 0, "high": 10, "unit": 2, "small": 3 }"""));
        Assert.Equal(["high = 0: must be in (0, 10)", "unit = -2: must be in [-1, 1]"], Problems("""{ "high": 0, "unit": -2 }"""));
    }

    [Fact]
    public void CrossKeyRules_RunOnceEveryKeyIsValidAlone()
    {
        Assert.Equal(["low = 6: must be below high (5)"], Problems("""{ "low": 6 }"""));
        Assert.Equal(["high = 11: must be in (0, 10)"], Problems("""{ "low": 6, "high": 11 }"""));
        Assert.Equal(["unit = 2: must be in [-1, 1]", "low = 6: must be below high (5)"], Problems("""{ "low": 6, "unit": 2 }"""));   // an unrelated bad key hides nothing
    }

    [Fact]
    public void Nulls_AreAcceptedOnlyWhereDeclared_AndEmptyTextWhereAllowed()
    {
        Assert.Null(Bind("""{ "note": null }""").Note);
        Assert.Equal(["name = null: expected a string"], Assert.Throws<ConfigException>(() => Bind("""{ "name": null }""")).Problems.Select(p => p.Setting));
        Assert.Equal(["name = '': must not be empty"], Problems("""{ "name": "" }"""));
        Assert.Equal("", Bind("""{ "note": "" }""").Note);
    }

    [Fact]
    public void Choices_UseTheirDeclaredNames_IgnoringCase()
    {
        Assert.Equal(Shape.Square, Bind("""{ "shape": "Very_Square" }""").Shape);
        Assert.Equal(Shape.Round, Bind("{}", ("shape", "round")).Shape);
        Assert.Equal(["shape = 'Square': expected one of round or very_square"], Problems("{}", ("shape", "Square")));
        Assert.Equal(["shape = 1: expected one of round or very_square"], Problems("""{ "shape": 1 }"""));
        Assert.Contains("\"shape\": \"very_square\"", Toy.Schema.ToJson(new Toy { Shape = Shape.Square }));
    }

    [Fact]
    public void APropertyWithoutKey_IsNeitherBoundNorWritten()
    {
        Assert.Equal(["not_a_key: unknown key"], Problems("""{ "not_a_key": 1 }"""));
        Assert.DoesNotContain("not_a_key", Toy.Schema.ToJson(new Toy()));
    }

    [Fact]
    public void AConfigMadeInCode_IsCheckedByValidated()
    {
        var ok = new Toy { Low = 2 };
        Assert.Same(ok, Toy.Schema.Validated(ok));
        var ex = Assert.Throws<ConfigException>(() => Toy.Schema.Validated(new Toy { Shape = (Shape)7, High = double.NaN }));
        Assert.Equal(["high = NaN: must be a finite number", "shape = 7: must be one of round or very_square"], ex.Problems.Select(p => p.ToString()));
    }
}
