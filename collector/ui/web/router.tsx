/** History-API routing: `/` (map and journeys, filters in the query) and `/journeys/{correlationId}`. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'home'; query: URLSearchParams } | { page: 'journey'; id: string };

export function parseRoute(loc: Location = location): Route {
  const match = /^\/journeys\/([^/]+)\/?$/.exec(loc.pathname);
  if (match) {
    try {
      return { page: 'journey', id: decodeURIComponent(match[1]) };
    } catch {
      // A malformed escape: show the map rather than fail.
    }
  }
  return { page: 'home', query: new URLSearchParams(loc.search) };
}

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const l of listeners) l();
  if (!replace) window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const update = () => setRoute(parseRoute());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A same-origin link that navigates without reloading (new tab and modifier clicks still work). */
export function Link(props: { href: string; class?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
