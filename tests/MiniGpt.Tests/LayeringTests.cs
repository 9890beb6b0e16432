using System.Reflection;
using System.Reflection.Emit;

namespace MiniGpt.Tests;

/// <summary>
/// The library's folders depend one way (README, Layout). Every type a folder's code names, in signatures or
/// in method bodies (read from the IL, lambdas and iterators included), must belong to the folder itself, to a
/// folder below it, to the root namespace (errors, choices) or to outside the library.
/// </summary>
public class LayeringTests
{
    public static readonly Dictionary<string, string[]> MayUse = new()
    {
        [""] = [],
        ["IO"] = [],
        ["Model"] = [],
        ["Logs"] = ["IO"],
        ["Data"] = ["IO"],
        ["Config"] = ["Model", "Data", "IO"],
        ["Hub"] = ["IO"],
        ["Generation"] = ["Model", "Data"],
        ["Formats"] = ["Config", "Model", "Data", "IO"],
        ["Checkpoints"] = ["Formats", "Hub", "Config", "Generation", "Model", "Data", "IO"],
        ["Training"] = ["Checkpoints", "Formats", "Hub", "Config", "Generation", "Model", "Data", "Logs", "IO"],
    };

    [Fact]
    public void Folders_DependOneWay()
    {
        var library = typeof(MiniGpt.Config.TrainConfig).Assembly;
        var violations = new SortedSet<string>();
        foreach (var type in library.GetTypes())
        {
            var from = Folder(type);
            if (from is null) continue;
            Assert.True(MayUse.ContainsKey(from), $"folder {from} ({type}) is not in the layering table");
            foreach (var used in References(type).SelectMany(Flatten).Where(t => t.Assembly == library).Distinct())
                if (Folder(used) is { } to && to != from && to != "" && !MayUse[from].Contains(to))
                    violations.Add($"{from} → {to}: {Name(type)} uses {Name(used)}");
        }
        Assert.True(violations.Count == 0, "dependencies against the layering:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheScan_SeesUsesInsideMethodBodies()
    {
        // TextGenerator names KvCache (Model) only inside a method body: the scan must find it there.
        var uses = References(typeof(MiniGpt.Generation.TextGenerator)).Concat(typeof(MiniGpt.Generation.TextGenerator).GetNestedTypes(BindingFlags.NonPublic).SelectMany(References));
        Assert.Contains(typeof(MiniGpt.Model.KvCache), uses.SelectMany(Flatten));
    }

    /// <summary>"Model" for MiniGpt.Model, "" for MiniGpt itself, null for types outside the library's namespaces.</summary>
    static string? Folder(Type t)
    {
        var ns = t.Namespace;
        if (ns is null || !(ns == "MiniGpt" || ns.StartsWith("MiniGpt."))) return null;
        return ns == "MiniGpt" ? "" : ns["MiniGpt.".Length..].Split('.')[0];
    }

    static string Name(Type t) => t.DeclaringType is { } outer ? $"{Name(outer)}+{t.Name}" : t.Name;

    static IEnumerable<Type> Flatten(Type t)
    {
        if (t.HasElementType) { foreach (var e in Flatten(t.GetElementType()!)) yield return e; yield break; }
        if (t.IsGenericParameter) yield break;
        yield return t.IsGenericType ? t.GetGenericTypeDefinition() : t;
        if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) foreach (var e in Flatten(a)) yield return e;
    }

    const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static IEnumerable<Type> References(Type t)
    {
        if (t.BaseType is { } b) yield return b;
        foreach (var i in t.GetInterfaces()) yield return i;
        foreach (var a in t.CustomAttributes) yield return a.AttributeType;
        foreach (var f in t.GetFields(Declared)) yield return f.FieldType;
        foreach (var p in t.GetProperties(Declared)) { yield return p.PropertyType; foreach (var a in p.CustomAttributes) yield return a.AttributeType; }
        foreach (var m in t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors(Declared)))
        {
            if (m is MethodInfo mi) yield return mi.ReturnType;
            foreach (var p in m.GetParameters()) yield return p.ParameterType;
            if (m.GetMethodBody() is not { } body) continue;
            foreach (var l in body.LocalVariables) yield return l.LocalType;
            foreach (var used in InBody(m, body.GetILAsByteArray()!)) yield return used;
        }
    }

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The types and members' declaring types that the IL's metadata tokens name.</summary>
    static IEnumerable<Type> InBody(MethodBase m, byte[] il)
    {
        var typeArgs = m.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = OpCodesByValue[value];
            int size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (op.OperandType is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType)
            {
                var member = m.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                if (member is Type type) yield return type;
                else if (member?.DeclaringType is { } declaring)
                {
                    yield return declaring;
                    if (member is MethodInfo called) { yield return called.ReturnType; foreach (var p in called.GetParameters()) yield return p.ParameterType; }
                    if (member is FieldInfo field) yield return field.FieldType;
                    if (member is MethodInfo { IsGenericMethod: true } generic) foreach (var a in generic.GetGenericArguments()) yield return a;
                }
            }
            i += size;
        }
    }
}
