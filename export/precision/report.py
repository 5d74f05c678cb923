"""The variants of an export as text lines: what was made, how, and how it compares with FP32."""


def format_variants(variants, checks):
    """``(lines, warnings)`` from the manifest's ``variants`` and the report's ``precision`` block."""
    lines, warnings = [], []
    for precision, entry in (variants or {}).items():
        how = entry.get("calibration")
        detail = ""
        if how:
            kept = ", ".join(entry.get("fp32_nodes") or []) or "none"
            detail = (f": {how['method']} on {how['samples']} of {how['pool']} samples ({how['source']}); "
                      f"FP32 layers: {kept}")
        lines.append(f"{precision:<5} {entry['file']}{detail} ({entry['seconds']:.1f} s)")
        check = (checks or {}).get(precision)
        if check is None:
            continue
        row = f"      {check['inputs']}, {check['samples']} samples:"
        if "fp32_accuracy" in check:
            row += (f" accuracy fp32 {check['fp32_accuracy']:.4f} -> {precision} {check[f'{precision}_accuracy']:.4f}"
                    f" ({0.0 - check['accuracy_drop_points']:+.2f} points),")
        row += f" top-1 agreement {check['top1_agreement']:.4f}, max |err| {check['max_abs_error']:.2e}"
        if "tolerance" in check:
            row += f" (tolerance {check['tolerance']:.1e}: {'pass' if check['passed'] else 'FAIL'})"
        lines.append(row)
        if check.get("warning"):
            warnings.append(f"{precision}: {check['warning']}")
    return lines, warnings
