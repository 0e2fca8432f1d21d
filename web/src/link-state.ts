// How the status bar tells the link's state: the desktop service estimates
// it from frame acknowledgements and sends LinkEstimate when it changes
// (docs/protocol.md, "Link estimate").
import type { LinkEstimate } from './protocol';

export interface LinkState {
  /** 'slow': frames wait for the link, and the desktop sends fewer, fresher ones. */
  state: 'good' | 'slow';
  /** The few words in the status bar. */
  text: string;
  /** The whole estimate, on hover. */
  title: string;
}

/** 950 kbit/s, 1.5 Mbit/s, 42 Mbit/s. */
export function formatBandwidth(kbps: number): string {
  if (kbps < 1000) return `${Math.round(kbps)} kbit/s`;
  const mbps = kbps / 1000;
  return `${mbps < 10 ? mbps.toFixed(1) : Math.round(mbps)} Mbit/s`;
}

export function linkState(estimate: LinkEstimate): LinkState {
  const known = estimate.bandwidthKbps > 0;
  const bandwidth = known ? formatBandwidth(estimate.bandwidthKbps) : '';
  const title =
    `Estimated by the desktop from the frames this browser acknowledged: ` +
    (known ? `up to ${bandwidth} delivered lately, ` : '') +
    `${estimate.delayMs} ms from a frame leaving to its acknowledgement.` +
    (estimate.slow ? ' The link is slow for this screen: the desktop sends fewer, fresher frames.' : '');
  if (estimate.slow) return { state: 'slow', text: known ? `slow link · ${bandwidth}` : 'slow link', title };
  return { state: 'good', text: 'link good', title };
}
