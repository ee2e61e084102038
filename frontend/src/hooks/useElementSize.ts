import { useEffect, useState } from "react";

/**
 * The CSS-pixel size of an element, kept current with a ResizeObserver. Takes the element itself
 * (keep it in state with a callback ref) so an element that mounts later is still observed.
 */
export function useElementSize(el: HTMLElement | null) {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    if (!el) return;
    const update = () => setSize({ width: el.clientWidth, height: el.clientHeight });
    update();
    const observer = new ResizeObserver(update);
    observer.observe(el);
    return () => observer.disconnect();
  }, [el]);
  return size;
}
