import type { PointerEventHandler, Ref } from "react";
import { shapeElements, type SvgElement } from "./markup";
import type { Shape } from "./types";

function Element({ element, colour, index }: { element: SvgElement; colour: string; index: number }) {
  const stroke = { stroke: colour, strokeWidth: 3, vectorEffect: "non-scaling-stroke" as const, fill: "none" };
  switch (element.tag) {
    case "line":
      return <line {...stroke} strokeLinecap="round" x1={element.x1} y1={element.y1} x2={element.x2} y2={element.y2} />;
    case "polygon":
      return <polygon points={element.points} fill={colour} stroke={colour} strokeWidth={1} vectorEffect="non-scaling-stroke" />;
    case "ellipse":
      return <ellipse {...stroke} cx={element.cx} cy={element.cy} rx={element.rx} ry={element.ry} />;
    case "polyline":
      return <polyline {...stroke} strokeLinejoin="round" strokeLinecap="round" points={element.points} />;
    case "text":
      return (
        <text
          key={index}
          x={element.x}
          y={element.y}
          transform={element.transform}
          fontSize={element.fontSize}
          fontWeight={700}
          fill={colour}
          stroke="#000000"
          strokeWidth={0.004}
          paintOrder="stroke"
        >
          {element.text}
        </text>
      );
  }
}

/**
 * The markup drawn over an image: an SVG in relative coordinates stretched over it, so a shape
 * stays on the spot it marks at any size (thumbnail, preview, phone). Decorative for assistive
 * technology; the labels are listed in text beside the preview.
 */
export function MarkupOverlay({
  shapes,
  aspect,
  draft,
  svgRef,
  onPointerDown,
  onPointerMove,
  onPointerUp,
  interactive = false,
}: {
  shapes: Shape[];
  aspect: number;
  draft?: Shape | null;
  svgRef?: Ref<SVGSVGElement>;
  onPointerDown?: PointerEventHandler<SVGSVGElement>;
  onPointerMove?: PointerEventHandler<SVGSVGElement>;
  onPointerUp?: PointerEventHandler<SVGSVGElement>;
  interactive?: boolean;
}) {
  const all = draft ? [...shapes, draft] : shapes;
  return (
    <svg
      ref={svgRef}
      className={interactive ? "markup-overlay markup-overlay--drawing" : "markup-overlay"}
      viewBox="0 0 1 1"
      preserveAspectRatio="none"
      aria-hidden={interactive ? undefined : true}
      role={interactive ? "img" : undefined}
      aria-label={interactive ? "Drawing area over the photo" : undefined}
      data-testid="markup-overlay"
      data-shapes={shapes.length}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
    >
      {all.map((shape, i) => (
        <g key={i} data-kind={shape.kind}>
          {shapeElements(shape, aspect).map((element, j) => (
            <Element key={j} element={element} colour={shape.colour} index={j} />
          ))}
        </g>
      ))}
    </svg>
  );
}
